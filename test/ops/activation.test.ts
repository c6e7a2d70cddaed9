// gelu (tanh, erf) and siluMul against float64 references, including large magnitudes (the
// clamped tanh argument and the exp overflow of silu must give finite, correct limits).
// Tolerances: f32: 1e-6 + 4e-6·|ref|: f32 evaluation (a few ulps through exp/tanh, the erfc fit
// is 1.2e-7 relative); 200× tighter than the fixtures' 1e-4 + 1e-4·|ref|. f16: one f16 rounding
// of a value that may differ from the reference's in its last f32 bits: 1 ulp (2^-10 relative), 2 for
// siluMul (silu is rounded before the product); atol 1e-7 covers f16 subnormals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { DTypeError, ShapeError } from '../../src/core/errors.js';
import { gelu, siluMul } from '../../src/ops/activation.js';
import { CANDIDATES, policyFor } from '../../src/ops/policy.js';
import { geluRef, siluMulRef, erf64 } from '../../src/ops/reference/activation.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
const up = (a: Float32Array, dtype: 'f32' | 'f16') =>
  dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), [a.length], 'f16') : Tensor.fromArray(gpu, a, [a.length]);
const asStored = (a: Float32Array, dtype: 'f32' | 'f16') => (dtype === 'f16' ? fromF16(toF16(a)) : a);
const tol = { f32: { atol: 1e-6, rtol: 4e-6 }, f16: { atol: 1e-7, rtol: 2 ** -10 } };
const siluTol = { f32: { atol: 1e-6, rtol: 4e-6 }, f16: { atol: 1e-7, rtol: 2 ** -9 } };
const EXTREMES = [0, -0, 1e-30, -1e-30, 5, -5, 9, -9, 12, -12, 40, -40, 88, -88, 100, -100, 1e4, -1e4, 6e4, -6e4];

function inputs(n: number, seed: number, scale: number, dtype: 'f32' | 'f16'): Float32Array {
  const a = randomArray(n, seed, scale);
  for (let i = 0; i < Math.min(n, EXTREMES.length); i++) if ((seed + i) % 3 === 0) a[i] = EXTREMES[(seed + i) % EXTREMES.length]!;
  return asStored(a, dtype);
}

const sizes = fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 13, 64, 255, 256, 257, 1031, 4100);
for (const dtype of dtypes) {
  for (const form of ['tanh', 'erf'] as const) {
    test(`gelu ${form} matches the reference (${dtype})`, async () => {
      await fc.assert(fc.asyncProperty(sizes, fc.nat(), fc.constantFrom(1, 4, 10), async (n, seed, scale) => {
        const x = inputs(n, seed, scale, dtype);
        const y = scope(() => gelu(up(x, dtype), form));
        const got = await y.toArray();
        y.dispose();
        assertClose(got, geluRef(x, form, dtype), tol[dtype], `gelu ${form} ${dtype} n=${n}`);
      }), { numRuns: 20 });
    });
  }
  // Every pointwise variant of the policy's table (ops/policy.ts), forced in turn.
  for (const v of CANDIDATES.pointwise) {
    test(`siluMul ${v.name} matches the reference (${dtype})`, async () => {
      policyFor(gpu).force(`pointwise=${v.name}`);
      try {
        await fc.assert(fc.asyncProperty(sizes, fc.nat(), async (n, seed) => {
          const g = inputs(n, seed, 8, dtype), u = asStored(randomArray(n, seed + 7, 3), dtype);
          const y = scope(() => siluMul(up(g, dtype), up(u, dtype)));
          const got = await y.toArray();
          y.dispose();
          assertClose(got, siluMulRef(g, u, dtype), siluTol[dtype], `siluMul ${v.name} ${dtype} n=${n}`);
        }), { numRuns: 15 });
      } finally {
        policyFor(gpu).force('');
      }
    });
  }
}

test('the float64 erf of the reference is right (erf(0.5), erf(2), erf(4))', () => {
  // Values from DLMF / Abramowitz-Stegun table 7.1.
  assert.ok(Math.abs(erf64(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf64(2) - 0.9953222650189527) < 1e-15);
  assert.ok(Math.abs(erf64(-4) + 0.9999999845827421) < 1e-15);
});

test('activation errors name the op and the tensors', () => {
  scope(() => {
    assert.throws(() => siluMul(Tensor.zeros(gpu, [2, 3], 'f32', 'gate'), Tensor.zeros(gpu, [3, 2], 'f32', 'up')),
      (e: unknown) => e instanceof ShapeError && /siluMul/.test(e.message) && /\[2, 3\]/.test(e.message) && /\[3, 2\]/.test(e.message));
    assert.throws(() => gelu(Tensor.zeros(gpu, [4], 'i32', 'ints'), 'erf'), (e: unknown) => e instanceof DTypeError && /ints/.test(e.message));
  });
});
