// rope against a float64 reference evaluated on the same f32 angles (f32 position × f32 inv_freq),
// with positions up to ~4000 and θ = 1e6 (Qwen2) or 1e4.
// Tolerances: f32: 1e-6·(1 + |x|max) + 2e-6·|ref|: the kernel's own range reduction and Taylor
// cos/sin are within ~2e-7 of float64 cos/sin of the f32 angle, then two rounded products.
// f16: cos and sin are rounded to f16 (as the reference model does); a kernel value within 2e-7 of
// the reference's can still round to the neighbouring f16 (2^-11 relative), so allow 2^-10·|x|max
// absolute plus 2 ulps of the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { ShapeError } from '../../src/core/errors.js';
import { rope, ropeInvFreq } from '../../src/ops/rope.js';
import { ropeRef } from '../../src/ops/reference/rope.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
const SCALE = 2;
const tol = { f32: { atol: 1e-6 * (1 + SCALE), rtol: 2e-6 }, f16: { atol: 2 ** -10 * SCALE, rtol: 2 ** -9 } };

async function check(L: number, H: number, D: number, offset: number, theta: number, seed: number, dtype: 'f32' | 'f16') {
  let x = randomArray(L * H * D, seed, SCALE);
  if (dtype === 'f16') x = fromF16(toF16(x));
  const y = scope(() => rope(dtype === 'f16' ? Tensor.fromArray(gpu, toF16(x), [L, H, D], 'f16') : Tensor.fromArray(gpu, x, [L, H, D]), { offset, theta }));
  const got = await y.toArray();
  y.dispose();
  assertClose(got, ropeRef(x, L, H, D, offset, theta, dtype), tol[dtype], `rope ${dtype} [${L}, ${H}, ${D}] offset ${offset} θ ${theta}`);
}

for (const dtype of dtypes) {
  test(`rope matches the reference (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3, 7, 17), fc.constantFrom(1, 2, 3, 5), fc.constantFrom(2, 4, 6, 16, 18, 128),
      fc.integer({ min: 0, max: 4000 }), fc.constantFrom(1e6, 1e4), fc.nat(), async (L, H, D, offset, theta, seed) => {
        await check(L, H, D, offset, theta, seed, dtype);
      }), { numRuns: 25 });
  });
  test(`rope over a long prompt: [300, 4, 128], positions 3800..4099 (${dtype})`, async () => {
    await check(300, 4, 128, 3800, 1e6, 3, dtype);
  });
}

test('inv_freq is 1/θ^(2j/D) rounded like torch in f32', () => {
  const f = ropeInvFreq(128, 1e6);
  assert.equal(f[0], 1);
  assert.equal(f[1], Math.fround(1 / Math.fround(Math.pow(1e6, Math.fround(2 / 128)))));
  assert.ok(Math.abs(f[63]! - 1e6 ** (-126 / 128)) / f[63]! < 1e-6);
});

test('rope errors name the tensor and shape', () => {
  scope(() => {
    assert.throws(() => rope(Tensor.zeros(gpu, [2, 3, 5], 'f32', 'q'), { offset: 0, theta: 1e6 }),
      (e: unknown) => e instanceof ShapeError && /rope/.test(e.message) && /q/.test(e.message) && /\[2, 3, 5\]/.test(e.message));
  });
});
