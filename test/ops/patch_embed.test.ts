// patchEmbed against a direct float64 convolution: S not a multiple of P (trailing pixels unused),
// P = 1, primes, the tiny fixture's S = 55, P = 2, and a device whose small binding limit forces the
// frame-chunked path.
// Tolerances: f32: 1e-4 + 1e-4·|ref| (the fixtures' f32 tolerance; a GEMM over 3P² <= 147 products
// in f32 is ~1e-6 off). f16: one f16 rounding of an f32-accumulated sum: 2 ulps (2^-9) + 1e-3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { ShapeError, DTypeError } from '../../src/core/errors.js';
import type { Gpu } from '../../src/core/device.js';
import { patchEmbed } from '../../src/ops/patch_embed.js';
import { patchEmbedRef } from '../../src/ops/reference/patch_embed.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
const tol = { f32: { atol: 1e-4, rtol: 1e-4 }, f16: { atol: 1e-3, rtol: 2 ** -9 } };

async function check(g: Gpu, T: number, S: number, P: number, C: number, seed: number, dtype: 'f32' | 'f16') {
  const st = (a: Float32Array) => (dtype === 'f16' ? fromF16(toF16(a)) : a);
  const up = (a: Float32Array, shape: number[]) => (dtype === 'f16' ? Tensor.fromArray(g, toF16(a), shape, 'f16') : Tensor.fromArray(g, a, shape));
  const pix = st(randomArray(T * 3 * S * S, seed, 1)), w = st(randomArray(C * 3 * P * P, seed + 1, 0.3)), b = st(randomArray(C, seed + 2, 0.1));
  const y = scope(() => patchEmbed(up(pix, [T, 3, S, S]), up(w, [C, 3, P, P]), up(b, [C]), P));
  const G = Math.floor(S / P);
  assert.deepEqual(y.shape, [T, G * G, C]);
  const got = await y.toArray();
  y.dispose();
  assertClose(got, patchEmbedRef(pix, T, S, w, b, C, P, dtype), tol[dtype], `patchEmbed ${dtype} T=${T} S=${S} P=${P} C=${C}`);
}

for (const dtype of dtypes) {
  test(`patchEmbed matches the direct convolution (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 3, 5, 7), fc.integer({ min: 0, max: 6 }),
      fc.constantFrom(1, 3, 4, 17), fc.nat(), async (T, P, extra, C, seed) => {
        await check(gpu, T, P * 2 + extra, P, C, seed, dtype);
      }), { numRuns: 20 });
  });
  test(`patchEmbed on the tiny fixture's geometry: S = 55, P = 2, C = 32 (${dtype})`, async () => {
    await check(gpu, 2, 55, 2, 32, 9, dtype);
  });
}

test('patchEmbed splits frames into chunks when bindings are small (f32, odd C)', async () => {
  const small = await testGpu({ limitOverrides: { maxStorageBufferBindingSize: 1024 } });
  await check(small, 5, 7, 3, 5, 4, 'f32'); // one frame a chunk: 4·27·4 = 432 B of columns
});

test('patchEmbed errors name the tensors and shapes', () => {
  scope(() => {
    assert.throws(() => patchEmbed(Tensor.zeros(gpu, [1, 3, 8, 8], 'f32', 'pix'), Tensor.zeros(gpu, [4, 3, 3, 3], 'f32', 'w'), Tensor.zeros(gpu, [4]), 2),
      (e: unknown) => e instanceof ShapeError && /w/.test(e.message) && /\[4, 3, 3, 3\]/.test(e.message));
    assert.throws(() => patchEmbed(Tensor.zeros(gpu, [1, 3, 8, 8], 'f32', 'pix'), Tensor.zeros(gpu, [4, 3, 2, 2], 'i32', 'wint'), Tensor.zeros(gpu, [4]), 2),
      (e: unknown) => e instanceof DTypeError && /wint/.test(e.message));
  });
});
