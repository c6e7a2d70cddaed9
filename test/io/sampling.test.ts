// The 100-frame index formula against the reference's own indices (preprocess/cases.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { sampleFrameIndices, NUM_FRAMES } from '../../src/io/sampling.js';
import { pyRound } from '../../src/io/python.js';
import { InputError } from '../../src/core/errors.js';

const CASES = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'fixtures', 'preprocess', 'cases.json');

test('sampleFrameIndices reproduces every frame_sampling case of the reference', () => {
  const cases = JSON.parse(readFileSync(CASES, 'utf8')).frame_sampling as { split: [number, number]; indices: number[] }[];
  assert.ok(cases.length >= 10);
  for (const c of cases) assert.deepEqual(sampleFrameIndices(c.split[0], c.split[1]), c.indices, `split ${c.split}`);
});

test('pyRound (the sampling formula\'s round) is Python round on ties and near-ties', () => {
  const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2],
    [0.49999999999999994, 0], [2.5000000000000004, 3], [7, 7], [99.5, 100], [100.5, 100]];
  for (const [x, want] of cases) assert.equal(pyRound(x), want, `round(${x})`);
});

test('ties round to even, and i/(n−1) is computed before the multiply, as in Python', () => {
  // i/4·2 = 0, 0.5, 1, 1.5, 2: half-up rounding would give 0,1,1,2,2.
  assert.deepEqual(sampleFrameIndices(0, 2, 5), [0, 0, 1, 2, 2]);
  // The offset is added after rounding: s0 + round(0.5) = 3, round(3.5) would be 4.
  assert.deepEqual(sampleFrameIndices(3, 5, 5), [3, 3, 4, 5, 5]);
  // i/(n−1) first, then × (D−1), as Python: 7/10·45 = 31.499999999999996 rounds to 31 (7·45/10 would give 32).
  // Expected list printed by Python 3: [round(i/10*45) for i in range(11)].
  assert.deepEqual(sampleFrameIndices(0, 45, 11), [0, 4, 9, 14, 18, 22, 27, 31, 36, 40, 45]);
});

test('indices are non-decreasing, start at s0, end at s1, and cover every frame when D <= n', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 5000 }), (s0, len) => {
    const s1 = s0 + len;
    const idx = sampleFrameIndices(s0, s1);
    assert.equal(idx.length, NUM_FRAMES);
    assert.equal(idx[0], s0);
    assert.equal(idx[NUM_FRAMES - 1], s1);
    for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! >= idx[i - 1]!);
    if (len + 1 <= NUM_FRAMES) assert.equal(new Set(idx).size, len + 1);
  }), { numRuns: 300 });
});

test('bad arguments are InputErrors naming the values', () => {
  assert.throws(() => sampleFrameIndices(5, 4), (e: unknown) => e instanceof InputError && /\[5, 4\]/.test(e.message));
  assert.throws(() => sampleFrameIndices(-1, 4), InputError);
  assert.throws(() => sampleFrameIndices(0.5, 4), InputError);
  assert.throws(() => sampleFrameIndices(0, Number.NaN), InputError);
  assert.throws(() => sampleFrameIndices(0, 4, 1), /n must be/);
});
