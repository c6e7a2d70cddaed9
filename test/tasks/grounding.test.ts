import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { extractGrounding } from '../../src/tasks/grounding.js';

// demo2_stvg's reference answer (models/llava-st-synth/README): a span and three keyed boxes, two
// of them with x1 > x2 (the model emits those; they are kept and flagged, not dropped).
const STVG = 'During the span of {<TEMP-036><TEMP-097>}. Object bounding box: <TEMP-036>:[<WIDTH-047><HEIGHT-019><WIDTH-061><HEIGHT-049>], <TEMP-073>:[<WIDTH-062><HEIGHT-019><WIDTH-061><HEIGHT-086>], <TEMP-073>:[<WIDTH-062><HEIGHT-019><WIDTH-061><HEIGHT-086>]';

test('spans and keyed boxes map to frames, seconds and pixels', () => {
  const frameIndices = Array.from({ length: 100 }, (_, i) => 2 * i); // a 199-frame clip
  const g = extractGrounding(STVG, 'stvg', { width: 160, height: 120, frameIndices, fps: 10 });
  assert.equal(g.spans.length, 1);
  assert.deepEqual([g.spans[0]!.start.bin, g.spans[0]!.end.bin], [36, 97]);
  assert.equal(g.spans[0]!.end.frame, 194);
  assert.equal(g.spans[0]!.end.seconds, 19.4);
  assert.equal(g.boxes.length, 3);
  assert.equal(g.boxes[0]!.time!.bin, 36);
  assert.deepEqual(g.boxes[0]!.bins, [47, 19, 61, 49]);
  assert.ok(Math.abs(g.boxes[0]!.pixels[0] - (47 / 99) * 160) < 1e-12);
  assert.ok(g.problems.some((p) => p.kind === 'inverted-box'), 'the inverted boxes are reported');
});

test('a bare REC box and a malformed span', () => {
  const g = extractGrounding('[<WIDTH-047><HEIGHT-019><WIDTH-061><HEIGHT-086>]', 'rec', { width: 176, height: 132 });
  assert.equal(g.boxes.length, 1);
  assert.equal(g.boxes[0]!.time, undefined);
  assert.deepEqual(g.problems, []);
  const bad = extractGrounding('During the period {<TEMP-002>', 'tvg');
  assert.equal(bad.spans.length, 0);
  assert.equal(bad.problems[0]!.kind, 'missing-bracket');
});

test('random text never throws', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '<TEMP-01>', '<WIDTH-5>', '<HEIGHT-099>', ':', ',', ' ', 'a') }), (s) => {
    extractGrounding(s, 'stvg');
    extractGrounding(s, undefined);
  }), { numRuns: 500 });
});
