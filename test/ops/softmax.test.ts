// softmax against ops/reference/softmax (float64).
// Tolerances. f32: exp2 of the shifted value (relative error a few ulp), a sum of N terms in f32
// (relative error <= N·2^-24, typically far less) and one division: rtol 1e-5 + N·6e-8, atol 1e-30
// for results that underflow differently (f64 keeps 1e-35, f32 flushes). f16: the input is
// f16-representable, the math f32, the output rounded once: 2^-10 relative, atol 2^-24 (the
// smallest f16 subnormal, for tiny probabilities).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { DTypeError } from '../../src/core/errors.js';
import { softmax } from '../../src/ops/softmax.js';
import { CANDIDATES, policyFor } from '../../src/ops/policy.js';
import { softmaxRef } from '../../src/ops/reference/softmax.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const DTYPES = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);

async function check(x: Float32Array, shape: number[], dtype: 'f32' | 'f16', what: string): Promise<void> {
  const N = shape[shape.length - 1]!;
  const xs = dtype === 'f16' ? fromF16(toF16(x)) : x;
  const y = scope(() => softmax(dtype === 'f16' ? Tensor.fromArray(gpu, toF16(xs), shape, 'f16') : Tensor.fromArray(gpu, xs, shape)));
  const got = await y.toArray();
  y.dispose();
  let want = softmaxRef(xs, xs.length / N, N);
  if (dtype === 'f16') want = fromF16(toF16(want));
  assertClose(got, want, dtype === 'f16' ? { atol: 2 ** -24, rtol: 2 ** -10 } : { atol: 1e-30, rtol: 1e-5 + N * 6e-8 }, `softmax ${dtype} ${what} ${JSON.stringify(shape)}`);
  // A masked (−inf) entry is exactly 0, as the reference's, not merely tiny (an exp2 clamped
  // below, as a polynomial exp2 must be, gives 2^-125 there).
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === -Infinity && want[i] === 0 && got[i] !== 0) throw new Error(`softmax ${dtype} ${what}: element ${i} (−inf) is ${got[i]}, want exactly 0`);
  }
}

const dim: fc.Arbitrary<number> = fc.constantFrom(1, 2, 3, 5, 7, 13, 64, 130, 257, 1024);
for (const dtype of DTYPES) {
  // Every variant of the policy's table (ops/policy.ts), forced in turn.
  for (const v of CANDIDATES.softmax) {
    test(`softmax ${v.name} matches the reference over odd shapes and magnitudes (${dtype})`, async () => {
      policyFor(gpu).force(`softmax=${v.name}`);
      try {
        await fc.assert(fc.asyncProperty(fc.array(dim, { minLength: 1, maxLength: 3 }).filter((s) => s.reduce((a, b) => a * b, 1) <= 200000),
          fc.constantFrom(1, 4, 30, 1e4), fc.nat(1000), async (shape, scale, seed) => {
            // f16 holds at most 65504; 1e4 is within range.
            await check(randomArray(shape.reduce((a, b) => a * b, 1), seed, scale), shape, dtype, `scale ${scale}`);
          }), { numRuns: 15 });
      } finally {
        policyFor(gpu).force('');
      }
    });
  }

  test(`softmax: rows of -inf except one entry, and ±1e4 extremes (${dtype})`, async () => {
    const rows = 37, N = 67;
    const x = new Float32Array(rows * N).fill(-Infinity);
    for (let r = 0; r < rows; r++) x[r * N + ((r * 13) % N)] = r % 2 ? 1e4 : -1e4;
    await check(x, [rows, N], dtype, 'one finite per row');
    const y = randomArray(rows * N, 3, 1e4);
    for (let r = 0; r < rows; r++) y[r * N + r] = -Infinity;
    await check(y, [rows, N], dtype, '±1e4 with -inf');
  });
}

test('softmax: a large fixed case (64 rows of 4096) and a dtype error naming the tensor', async () => {
  await check(randomArray(64 * 4096, 5, 8), [64, 4096], 'f32', 'large');
  scope(() => assert.throws(() => softmax(Tensor.zeros(gpu, [2, 3], 'i32', 'logits_i')), (e: unknown) => e instanceof DTypeError && /logits_i/.test(e.message)));
});
