// Reference-compatible parsers and Python rounding against shared/fixtures/metrics/parsing.json,
// which the real upstream code produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  elcPredCaption, parseBoxFromText, parseFloatFromText, parseSpanFromText, parseStpairFromText, replaceAndNormalize,
} from '../../src/tasks/parse.js';
import { pyFormatFixed, pyRound, pyRoundDigits } from '../../src/io/python.js';
import { readSharedJson } from '../support/shared.js';

const P = readSharedJson('fixtures/metrics/parsing.json');
type Outcome = { value: unknown; printed: boolean };

test('replaceAndNormalize: all 308 text cases, both modes', () => {
  for (const c of P.text_cases) {
    assert.equal(replaceAndNormalize(c.raw), c.normalized, `default mode of ${JSON.stringify(c.raw)}`);
    assert.equal(replaceAndNormalize(c.raw, true), c.token_form, `token mode of ${JSON.stringify(c.raw)}`);
  }
});

test('replaceAndNormalize: the 100 bin strings', () => {
  for (const b of P.bin_strings) {
    for (const kind of ['TEMP', 'HEIGHT', 'WIDTH']) {
      const tok = `<${kind}-${String(b.k).padStart(3, '0')}>`;
      assert.equal(replaceAndNormalize(tok), b.normalized);
      assert.equal(replaceAndNormalize(tok, true), b.token_form);
    }
  }
});

test('parsers: value and failure flag for every text case', () => {
  const mapAsPairs = (m: Map<number, number[]>) => [...m.entries()];
  for (const c of P.text_cases) {
    const box: Outcome = c['parse_box_from_text(normalized)'];
    const r = parseBoxFromText(c.normalized);
    assert.deepEqual([r.value, r.failed], [box.value, box.printed], `box of ${JSON.stringify(c.normalized)}`);
    const span: Outcome = c['parse_span_from_text(normalized)'];
    const s = parseSpanFromText(c.normalized);
    assert.deepEqual([s.value, s.failed], [span.value, span.printed], `span of ${JSON.stringify(c.normalized)}`);
    assert.deepEqual(mapAsPairs(parseStpairFromText(c.token_form)), c['parse_stpair_from_text(token_form)'].value, `pairs of ${JSON.stringify(c.token_form)}`);
    assert.deepEqual(mapAsPairs(parseStpairFromText(c.normalized)), c['parse_stpair_from_text(normalized)'].value, `pairs of ${JSON.stringify(c.normalized)}`);
    const fl: Outcome = c['parse_float_from_text(normalized)'];
    const f = parseFloatFromText(c.normalized);
    assert.deepEqual([f.value, f.failed], [fl.value, fl.printed], `float of ${JSON.stringify(c.normalized)}`);
  }
});

test('round(x, 3): the 758 GT frame -> normalised time cases, ties and near-ties included', () => {
  let n = 0;
  for (const t of P.gt_frame_to_normalized_time) {
    const [s0, s1] = t.split;
    for (const [frame, want] of t.rows) {
      assert.equal(pyRoundDigits((frame - s0) / (s1 - s0), 3), want, `split ${t.split} frame ${frame}`);
      n++;
    }
  }
  assert.equal(n, 758);
  assert.equal(pyRoundDigits(1 / 16, 3), 0.062); // exact tie to even; toFixed gives 0.063
  assert.equal(pyRoundDigits(9 / 2000, 3), 0.004); // binary value below the tie
  assert.equal(pyRoundDigits(17 / 2000, 3), 0.009);
});

test('round(x): half to even, never -0', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -0.4, 2.4999].map(pyRound), [0, 2, 2, 0, -2, 0, 2]);
  assert.ok(Object.is(pyRound(-0.4), 0));
});

test('%.5f formatting matches correctly rounded decimal (property vs exact BigInt-free cases)', () => {
  assert.equal(pyFormatFixed(150 / 99, 5), '1.51515');
  assert.equal(pyFormatFixed(0.125, 2), '0.12'); // tie to even
  assert.equal(pyFormatFixed(1e22, 1), '10000000000000000000000.0');
  // away from ties, toFixed is correct: agree with it on random doubles
  fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 8 }), (x, d) => {
    const s = x.toFixed(d);
    const scaled = x * 10 ** d;
    if (Math.abs(scaled - Math.floor(scaled) - 0.5) < 1e-6) return true; // near a tie: toFixed rounds up
    assert.equal(pyFormatFixed(x, d), s);
    return true;
  }));
});

test('ELC caption cut', () => {
  assert.equal(elcPredCaption('Ends in <TEMP-060>, a child, smiling, pushes a toy. Object bounding box: x'), ' pushes a toy');
  assert.equal(elcPredCaption('Ends in <TEMP-060>, Mr. Smith walks.'), ' Mr');
  assert.equal(elcPredCaption(''), '');
});

test('reference parsers never throw on garbage', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
    const t = replaceAndNormalize(s);
    parseBoxFromText(t); parseSpanFromText(t); parseStpairFromText(replaceAndNormalize(s, true)); parseFloatFromText(t);
  }));
});
