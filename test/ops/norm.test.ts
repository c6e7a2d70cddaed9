// layerNorm / rmsNorm against float64 references over random shapes (C = 1, primes, non-multiples
// of 4 and of the 64-wide workgroup), plus rows with a large common offset.
// Tolerances: f32: 1e-5 + 1e-5·|ref|: statistics in f32 over <= 4k elements (relative error ~1e-6),
// then a few rounded products. f16: inputs are f16-representable; the GPU's f32 value before the
// final rounding may sit across an f16 rounding boundary from the reference's: 1 ulp (2^-10
// relative) for LayerNorm, 2 ulps for RMSNorm (its normalized value is rounded before the weight).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { DTypeError, ShapeError } from '../../src/core/errors.js';
import { layerNorm, rmsNorm } from '../../src/ops/norm.js';
import { CANDIDATES, policyFor } from '../../src/ops/policy.js';
import { layerNormRef, rmsNormRef } from '../../src/ops/reference/norm.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
const tol = { f32: { atol: 1e-5, rtol: 1e-5 }, f16: { atol: 1e-4, rtol: 2 ** -10 } };
const rmsTol = { f32: { atol: 1e-5, rtol: 1e-5 }, f16: { atol: 2e-4, rtol: 2 ** -9 } };

const up = (a: Float32Array, shape: number[], dtype: 'f32' | 'f16') =>
  dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), shape, 'f16') : Tensor.fromArray(gpu, a, shape);
const asStored = (a: Float32Array, dtype: 'f32' | 'f16') => (dtype === 'f16' ? fromF16(toF16(a)) : a);

async function check(kind: 'layer' | 'rms', R: number, C: number, seed: number, dtype: 'f32' | 'f16', offset = 0, eps = 1e-6): Promise<void> {
  const x = asStored(randomArray(R * C, seed, 3).map((v) => v + offset), dtype);
  const w = asStored(randomArray(C, seed + 1, 1).map((v) => 1 + 0.3 * v), dtype);
  const b = asStored(randomArray(C, seed + 2, 0.2), dtype);
  const got = scope(() => kind === 'layer'
    ? layerNorm(up(x, [R, C], dtype), up(w, [C], dtype), up(b, [C], dtype), eps)
    : rmsNorm(up(x, [R, C], dtype), up(w, [C], dtype), eps));
  const data = await got.toArray();
  got.dispose();
  const want = kind === 'layer' ? layerNormRef(x, C, w, b, eps, dtype) : rmsNormRef(x, C, w, eps, dtype);
  assertClose(data, want, (kind === 'layer' ? tol : rmsTol)[dtype], `${kind} ${dtype} [${R}, ${C}] offset ${offset}`);
}

const rows = fc.constantFrom(1, 2, 3, 7, 13);
const cols = fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 13, 64, 67, 100, 257);
/** Runs `body` with one variant of the policy's table forced (ops/policy.ts). */
async function withVariant(name: string, body: () => Promise<void>): Promise<void> {
  policyFor(gpu).force(`norm=${name}`);
  try { await body(); } finally { policyFor(gpu).force(''); }
}

for (const dtype of dtypes) {
  for (const kind of ['layer', 'rms'] as const) {
    for (const v of CANDIDATES.norm) {
      test(`${kind}Norm ${v.name} matches the reference (${dtype})`, () => withVariant(v.name, async () => {
        await fc.assert(fc.asyncProperty(rows, cols, fc.nat(), fc.constantFrom(1e-6, 1e-5), async (R, C, seed, eps) => {
          await check(kind, R, C, seed, dtype, 0, eps);
        }), { numRuns: 12 });
        await check(kind, 2, 1151, 6, dtype);
      }));
    }
    test(`${kind}Norm on wide rows (${dtype}): 3 × 3584, 2 × 1151`, async () => {
      await check(kind, 3, 3584, 5, dtype);
      await check(kind, 2, 1151, 6, dtype);
    });
  }
}

test('layerNorm keeps the noise of rows with a large common offset (1e4 + U(-3, 3), f32)', async () => {
  // E[x²] − E[x]² in f32 loses everything here, and an f32 mean near 1e4 is off by ~5e-4.
  for (const C of [7, 1152]) await check('layer', 4, C, 11, 'f32', 1e4, 1e-6);
});

test('norm errors name the op, the tensors and the shapes', () => {
  scope(() => {
    const x = Tensor.zeros(gpu, [2, 8]);
    assert.throws(() => layerNorm(x, Tensor.zeros(gpu, [7]), Tensor.zeros(gpu, [8]), 1e-6),
      (e: unknown) => e instanceof ShapeError && /layerNorm/.test(e.message) && /\[7\]/.test(e.message) && /\[2, 8\]/.test(e.message));
    assert.throws(() => rmsNorm(x, Tensor.zeros(gpu, [8], 'i32', 'w_int'), 1e-6),
      (e: unknown) => e instanceof DTypeError && /w_int/.test(e.message));
  });
});
