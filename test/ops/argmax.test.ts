// argmax against the reference: rows with many ties (values from a set of 3), −0/+0, ±inf, NaN,
// widths around the 4096-element block (1, primes, 4095..4097) and the 151960-wide logits row.
// Exact: the result is an index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { ShapeError } from '../../src/core/errors.js';
import { argmax } from '../../src/ops/argmax.js';
import { argmaxRef } from '../../src/ops/reference/argmax.js';
import { randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);

async function check(x: Float32Array, R: number, N: number, dtype: 'f32' | 'f16') {
  if (dtype === 'f16') x = fromF16(toF16(x));
  const y = scope(() => argmax(dtype === 'f16' ? Tensor.fromArray(gpu, toF16(x), [R, N], 'f16') : Tensor.fromArray(gpu, x, [R, N])));
  assert.equal(y.dtype, 'u32');
  const got = await y.read();
  y.dispose();
  assert.deepEqual(Array.from(got), Array.from(argmaxRef(x, N)), `argmax ${dtype} [${R}, ${N}]`);
}

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 65504, -3];
for (const dtype of dtypes) {
  test(`argmax matches the reference, ties to the lowest index (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 3, 63, 64, 65, 4095, 4096, 4097, 9001), fc.nat(),
      fc.constantFrom('ties', 'random', 'special'), async (R, N, seed, kind) => {
        const x = randomArray(R * N, seed, 5);
        if (kind === 'ties') for (let i = 0; i < x.length; i++) x[i] = Math.floor(x[i]!) % 3;
        if (kind === 'special') for (let i = seed % 7; i < x.length; i += 97 + (seed % 13)) x[i] = SPECIAL[(i + seed) % SPECIAL.length]!;
        await check(x, R, N, dtype);
      }), { numRuns: 30 });
  });
}

test('argmax over a 151960-wide logits row, maximum tied at two late places (f32)', async () => {
  const N = 151960, x = randomArray(N, 77, 10);
  x[150001] = 20; x[151959] = 20;
  await check(x, 1, N, 'f32');
  const y = scope(() => argmax(Tensor.fromArray(gpu, x, [N])));
  assert.deepEqual(y.shape, []);
  assert.equal((await y.read())[0], 150001);
  y.dispose();
});

test('−0 and +0 tie (lowest index wins), NaN beats +inf, −inf loses to everything', async () => {
  const rows = [[-0, 0, -1], [-1, 0, -0], [-Infinity, -Infinity, -3e38], [Infinity, NaN, NaN], [-0, -0, -Infinity]];
  const x = Float32Array.from(rows.flat());
  await check(x, rows.length, 3, 'f32');
  const y = scope(() => argmax(Tensor.fromArray(gpu, x, [rows.length, 3])));
  assert.deepEqual(Array.from(await y.read()), [0, 1, 2, 1, 0]);
  y.dispose();
});

test('argmax of an empty row is a typed error', () => {
  scope(() => assert.throws(() => argmax(Tensor.zeros(gpu, [3, 0], 'f32', 'logits')), (e: unknown) => e instanceof ShapeError && /logits/.test(e.message)));
});
