// The typed coordinate codec: ids, strings, encode -> decode round trips, located problems,
// mapping back to frames/seconds/pixels, and garbage that never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  binToFrame, boxToPixels, coordTokenFromId, coordTokenId, coordTokenString, decodeAnswer, decodeBox, decodePairs,
  decodeSpan, encodeBox, encodePairs, encodeSpan, sampledFrameIndices, spanToSeconds, coordinateVocabOf, NUM_BINS, type Box, type CoordinateKind, type CoordinateVocab,
} from '../../src/tasks/coordinates.js';
import { parseBoxFromText, parseSpanFromText, parseStpairFromText, replaceAndNormalize } from '../../src/tasks/parse.js';
import { join } from 'node:path';
import { loadConfig } from '../../src/model/config.js';
import { Qwen2Tokenizer } from '../../src/io/tokenizer.js';
import { readSharedJson, sharedPath, TINY } from '../support/shared.js';

const bin = fc.integer({ min: 0, max: 99 });
const orderedPair = fc.tuple(bin, bin).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);
const box = fc.tuple(orderedPair, orderedPair).map(([[x1, x2], [y1, y2]]) => [x1, y1, x2, y2] as Box);
const pair = fc.tuple(bin, box).map(([t, b]) => ({ t, box: b }));

const QWEN2_7B: CoordinateVocab = { vocabSize: 151660, bins: { temporal: 100, spatial_height: 100, spatial_width: 100 } };

test('ids follow vocabSize + {0,100,200} + k, and the demo ids decode', () => {
  assert.equal(coordTokenId({ kind: 'temporal', bin: 0 }, QWEN2_7B), 151660);
  assert.equal(coordTokenId({ kind: 'spatial_height', bin: 19 }, QWEN2_7B), 151779);
  assert.equal(coordTokenId({ kind: 'spatial_width', bin: 47 }, { ...QWEN2_7B, vocabSize: 1000 }), 1247);
  // samples: REC answer ids [58, 151907, 151779, 151921, 151846, 60, 151645]
  const toks = [151907, 151779, 151921, 151846].map((id) => coordTokenString(coordTokenFromId(id, QWEN2_7B)!));
  assert.equal(`[${toks.join('')}]`, '[<WIDTH-047><HEIGHT-019><WIDTH-061><HEIGHT-086>]');
  assert.equal(coordTokenFromId(151659, QWEN2_7B), null);
  assert.equal(coordTokenFromId(151960, QWEN2_7B), null);
  fc.assert(fc.property(fc.constantFrom<CoordinateKind>('temporal', 'spatial_height', 'spatial_width'), bin, fc.integer({ min: 0, max: 200000 }), (kind, k, v) => {
    const vocab = { ...QWEN2_7B, vocabSize: v };
    assert.deepEqual(coordTokenFromId(coordTokenId({ kind, bin: k }, vocab), vocab), { kind, bin: k });
  }));
});

test('ids come from the loaded config: every coordinate token of the demo model is the tokenizer\'s own id; the tiny fixture model starts elsewhere', async () => {
  const synth = sharedPath('models/llava-st-synth');
  const vocab = coordinateVocabOf(await loadConfig(synth));
  const tokenizer = await Qwen2Tokenizer.fromDirectory(synth);
  for (const kind of ['temporal', 'spatial_height', 'spatial_width'] as const) {
    for (let k = 0; k < NUM_BINS; k++) {
      const t = { kind, bin: k };
      assert.equal(coordTokenId(t, vocab), tokenizer.requireId(coordTokenString(t)), coordTokenString(t));
    }
  }
  const tiny = coordinateVocabOf(await loadConfig(join(TINY, 'checkpoint')));
  assert.notEqual(tiny.vocabSize, vocab.vocabSize);
  assert.deepEqual(coordTokenFromId(tiny.vocabSize + tiny.bins.temporal, tiny), { kind: 'spatial_height', bin: 0 });
  assert.equal(coordTokenFromId(tiny.vocabSize - 1, tiny), null);
});

test('round trips: spans, boxes, pairs', () => {
  fc.assert(fc.property(orderedPair, ([s, e]) => assert.deepEqual(decodeSpan(`During {${encodeSpan({ s, e }).slice(1)}`), { ok: true, value: { s, e } })));
  fc.assert(fc.property(box, (b) => assert.deepEqual(decodeBox(`The location is ${encodeBox(b)}`), { ok: true, value: b })));
  fc.assert(fc.property(fc.array(pair, { minLength: 1, maxLength: 8 }), (pairs) => {
    assert.deepEqual(decodePairs(`Object bounding box: ${encodePairs(pairs)}`), { ok: true, value: pairs });
  }));
});

test('encoded answers read the same through the reference parsers', () => {
  fc.assert(fc.property(orderedPair, box, fc.array(pair, { minLength: 1, maxLength: 5 }), ([s, e], b, pairs) => {
    assert.deepEqual(parseSpanFromText(replaceAndNormalize(encodeSpan({ s, e }))).value, [Number((s / 99).toFixed(5)), Number((e / 99).toFixed(5))]);
    assert.deepEqual(parseBoxFromText(replaceAndNormalize(encodeBox(b), true)).value, b);
    const last = new Map<number, Box>();
    for (const p of pairs) last.set(p.t, p.box);
    assert.deepEqual(parseStpairFromText(replaceAndNormalize(encodePairs(pairs), true)), last);
  }));
});

test('malformed output: what and where', () => {
  const one = (r: { ok: boolean; problems?: { kind: string; at: number }[] }) => (r.ok ? null : r.problems!.map((p) => [p.kind, p.at]));
  assert.deepEqual(one(decodeSpan('x {<TEMP-012><TEMP-045>')), [['missing-bracket', 23]]); // the text ends at 23
  assert.deepEqual(one(decodeSpan('{<TEMP-012>}')), [['wrong-arity', 0]]);
  assert.deepEqual(one(decodeSpan('{<TEMP-012><WIDTH-045>}')), [['wrong-kind', 11]]);
  assert.deepEqual(one(decodeSpan('{<TEMP-060><TEMP-020>}')), [['start-after-end', 0]]);
  assert.deepEqual(one(decodeSpan('no span')), [['not-found', 7]]);
  assert.deepEqual(one(decodeBox('[<HEIGHT-031><WIDTH-021><WIDTH-069><HEIGHT-080>]')), [['wrong-kind', 1], ['wrong-kind', 13]]);
  assert.deepEqual(one(decodeBox('[<WIDTH-031><HEIGHT-021><WIDTH-069>]')), [['wrong-arity', 0]]);
  assert.deepEqual(one(decodeBox('[<WIDTH-069><HEIGHT-021><WIDTH-031><HEIGHT-080>]')), [['inverted-box', 0]]);
  assert.deepEqual(one(decodeBox('[<WIDTH-150><HEIGHT-021><WIDTH-169><HEIGHT-080>]')), [['bin-out-of-range', 1], ['bin-out-of-range', 24]]);
  const pairs = '<TEMP-010>:[<WIDTH-001><HEIGHT-002><WIDTH-003><HEIGHT-004>], <HEIGHT-012>:[<WIDTH-001><HEIGHT-002><WIDTH-003><HEIGHT-004>], <TEMP-020>[<WIDTH-001><HEIGHT-002><WIDTH-003><HEIGHT-004>], <TEMP-030>:[<WIDTH-001><HEIGHT-002>';
  assert.deepEqual(one(decodePairs(pairs)), [['wrong-kind', pairs.indexOf('<HEIGHT-012>')], ['missing-colon', pairs.indexOf('<TEMP-020>') + 10], ['missing-bracket', pairs.length]]);
  const answer = decodeAnswer('stvg', 'During the span of {<TEMP-036><TEMP-097>}. Object bounding box: <TEMP-036>:[<WIDTH-047><HEIGHT-019><WIDTH-061><HEIGHT-049>]');
  assert.deepEqual(answer, { ok: true, value: { span: { s: 36, e: 97 }, pairs: [{ t: 36, box: [47, 19, 61, 49] }] } });
  const elc = decodeAnswer('elc', 'Ends in <TEMP-060>, a child. Object bounding box: <TEMP-020>:[<WIDTH-015><HEIGHT-014><WIDTH-034><HEIGHT-069>]');
  assert.deepEqual(elc, { ok: true, value: { pairs: [{ t: 20, box: [15, 14, 34, 69] }], endBin: 60 } });
});

test('random garbage never throws', () => {
  const pieces = fc.constantFrom('{', '}', '[', ']', ':', ',', ' ', '<TEMP-012>', '<WIDTH-5>', '<HEIGHT-150>', '<TEMP-', 'Ends in', 'x', '\n');
  const garbage = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.array(pieces, { maxLength: 30 }).map((a) => a.join('')));
  fc.assert(fc.property(garbage, fc.constantFrom('tvg', 'stvg', 'svg', 'rec', 'elc') as fc.Arbitrary<'tvg'>, (s, task) => {
    for (const r of [decodeSpan(s), decodeBox(s), decodePairs(s), decodeAnswer(task, s)]) {
      if (!r.ok) for (const p of r.problems) assert.ok(p.at >= 0 && p.at <= s.length && p.message.length > 0);
    }
  }), { numRuns: 500 });
});

test('mapping back: sampled frames (fixture), seconds, pixels', () => {
  const st = readSharedJson('fixtures/metrics/stvg.json');
  for (const [i, p] of st.per_item.entries()) assert.deepEqual(sampledFrameIndices(p.split), p.frame_idx, `item ${i}`);
  const idx = sampledFrameIndices([30, 329]); // D = 300
  assert.equal(binToFrame(0, idx), 30);
  assert.equal(binToFrame(99, idx), 329);
  assert.deepEqual(spanToSeconds({ s: 0, e: 99 }, idx, 30), { start: 1, end: 329 / 30 });
  assert.deepEqual(boxToPixels([0, 0, 99, 99], 640, 360), [0, 0, 640, 360]);
  assert.throws(() => binToFrame(100, idx), /bin 100/);
});
