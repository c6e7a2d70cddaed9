// regionAttention against ops/reference/attention's regionAttentionRef (float64).
// Tolerances. f32: d-term dot products in f32 and an R-term weighted sum (R <= 9) of |v| <= 1:
// errors ~1e-7; atol 1e-5 + rtol 1e-4 leaves 100× margin, far below a bug (a wrong key or head
// gives O(0.1)). f16: inputs f16-representable, f32 math, one rounding of the output: 2^-10 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { DTypeError, LimitError, ShapeError } from '../../src/core/errors.js';
import { regionAttention, type KeyGroup } from '../../src/ops/region_attention.js';
import { regionAttentionRef } from '../../src/ops/reference/attention.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const DTYPES = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);

async function check(Nq: number, Nk: number, H: number, d: number, index: Uint32Array, R: number, dtype: 'f32' | 'f16', seed: number, scale?: number,
  split?: { gpu: typeof gpu; keyGroup: KeyGroup }): Promise<void> {
  const g = split?.gpu ?? gpu;
  const E = H * d;
  const data = [randomArray(Nq * E, seed), randomArray(Nk * E, seed + 1, 2), randomArray(Nk * E, seed + 2)]
    .map((a) => (dtype === 'f16' ? fromF16(toF16(a)) : a)) as [Float32Array, Float32Array, Float32Array];
  const t = (a: Float32Array, rows: number, name: string) => dtype === 'f16' ? Tensor.fromArray(g, toF16(a), [rows, E], 'f16', name) : Tensor.fromArray(g, a, [rows, E], 'f32', name);
  const y = scope(() => regionAttention(t(data[0], Nq, 'q'), t(data[1], Nk, 'k'), t(data[2], Nk, 'v'), Tensor.fromArray(g, index, [Nq, R], 'u32', 'index'), H, scale, split?.keyGroup));
  const got = await y.toArray();
  y.dispose();
  let want = regionAttentionRef(data[0], data[1], data[2], index, Nq, E, R, H, scale ?? 1 / Math.sqrt(d));
  if (dtype === 'f16') want = fromF16(toF16(want));
  assertClose(got, want, dtype === 'f16' ? { atol: 1e-5, rtol: 2 ** -10 } : { atol: 1e-5, rtol: 1e-4 }, `regionAttention ${dtype} Nq=${Nq} Nk=${Nk} H=${H} d=${d} R=${R}`);
}

/** The spatial packer's regions (§6.2): query (a, b) of a (G/3)² grid sees the 3×3 block around (3a+1, 3b+1). */
function spatialIndex(G: number, frames: number): Uint32Array {
  const g = G / 3, idx: number[] = [];
  for (let t = 0; t < frames; t++) for (let a = 0; a < g; a++) for (let b = 0; b < g; b++) {
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) idx.push(t * G * G + (3 * a + dy) * G + 3 * b + dx);
  }
  return Uint32Array.from(idx);
}

for (const dtype of DTYPES) {
  test(`regionAttention matches the reference over random regions (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 7, 13, 81), fc.constantFrom(1, 5, 30), fc.constantFrom(1, 5, 9),
      fc.constantFrom(1, 3, 8), fc.constantFrom(1, 6, 8, 16, 128), fc.nat(1000), async (Nq, Nk, R, H, d, seed) => {
        const index = Uint32Array.from(randomArray(Nq * R, seed + 5), (x) => Math.floor((x + 1) / 2 * Nk) % Nk);
        await check(Nq, Nk, H, d, index, R, dtype, seed);
      }), { numRuns: 30 });
  });

  test(`regionAttention: the tiny packer's spatial regions, 27×27 -> 9×9, 2 frames, 8 heads of 6 (${dtype})`, async () => {
    await check(162, 1458, 8, 6, spatialIndex(27, 2), 9, dtype, 17);
  });
}

test('regionAttention: 1024-wide heads of 128, custom scale; typed errors', async () => {
  await check(50, 450, 8, 128, spatialIndex(15, 2).slice(0, 50 * 9), 9, 'f32', 21, 0.05);
  scope(() => {
    const q = Tensor.zeros(gpu, [4, 48], 'f32', 'q'), k = Tensor.zeros(gpu, [9, 48], 'f32', 'k');
    const idx = Tensor.zeros(gpu, [4, 9], 'u32', 'idx');
    assert.throws(() => regionAttention(q, Tensor.zeros(gpu, [9, 40]), k, idx, 8), (e: unknown) => e instanceof ShapeError && /regionAttention/.test(e.message) && /\[4, 48\]/.test(e.message) && /\[9, 40\]/.test(e.message));
    assert.throws(() => regionAttention(q, k, k, idx, 5), (e: unknown) => e instanceof ShapeError && /5 heads/.test(e.message));
    assert.throws(() => regionAttention(q, k, k, Tensor.zeros(gpu, [4, 9], 'i32', 'idx_i32'), 8), (e: unknown) => e instanceof DTypeError && /idx_i32/.test(e.message));
  });
});

test('regionAttention: keys over the binding limit are split by keyGroup (frames), else a LimitError', async () => {
  // 5 frames of 27×27 keys, E = 48 f32 (192 B a row, 140 KB a frame) with the binding limit lowered
  // to 300 KB: two frames per dispatch, three dispatches, the last one partial.
  const small = await testGpu({ limitOverrides: { maxStorageBufferBindingSize: 300_000 } });
  await check(405, 3645, 8, 6, spatialIndex(27, 5), 9, 'f32', 23, undefined, { gpu: small, keyGroup: { queries: 81, keys: 729 } });
  scope(() => {
    const q = Tensor.zeros(small, [405, 48]), k = Tensor.zeros(small, [3645, 48], 'f32', 'bigk');
    assert.throws(() => regionAttention(q, k, k, Tensor.zeros(small, [405, 9], 'u32'), 8), (e: unknown) => e instanceof LimitError && /bigk/.test(e.message) && /keyGroup/.test(e.message));
  });
});
