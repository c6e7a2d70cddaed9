// LAPE's 100 -> 27 resampling indices: PyTorch's linear, align_corners=False, in f32 (architecture.md §5.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearResampleIndices } from '../../src/model/lape.js';
import { spatialLayout, temporalLayout } from '../../src/model/packer.js';

test('100 -> 27 indices and weights match the spec table', () => {
  const { i0, i1, lambda } = linearResampleIndices(100, 27);
  const spec = [[1, 2, .351852], [5, 6, .055555], [8, 9, .759259], [49, 50, .5], [68, 69, .018517], [97, 98, .648148]] as const;
  for (const [a, b, l] of spec) {
    const r = i0.indexOf(a);
    assert.ok(r >= 0, `row with i0 = ${a}`);
    assert.equal(i1[r], b);
    assert.ok(Math.abs(lambda[r]! - l) < 2e-6, `λ ${lambda[r]} vs ${l}`);
  }
  assert.equal(i0.length, 27);
});

test('packer layouts: spatial picks block centres, temporal the middle frame of each window', () => {
  const s = spatialLayout(27, 9);
  assert.equal(s.query[0], 28);                       // (1, 1)
  assert.equal(s.query[80], 25 * 27 + 25);
  assert.deepEqual([...s.region.subarray(0, 9)], [0, 1, 2, 27, 28, 29, 54, 55, 56]);
  const t = temporalLayout(100, 81, 5);
  assert.equal(t.query.length, 20 * 81);
  assert.equal(t.query[81 + 3], (5 + 2) * 81 + 3);
  assert.deepEqual([...t.region.subarray(5 * 81 * 1 + 5 * 3, 5 * 81 + 5 * 3 + 5)], [5 * 81 + 3, 6 * 81 + 3, 7 * 81 + 3, 8 * 81 + 3, 9 * 81 + 3]);
});
