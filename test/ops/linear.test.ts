// linear(): kernel choice by M, and weights split over the binding limit. A second device with
// maxStorageBufferBindingSize lowered to 4096 B makes tiny weights take the split path.
// Tolerances as in matmul.test.ts: f32 accumulation over K, 2e-6·K absolute + 1e-5 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { linear, splitRows, uploadWeight, SplitWeight } from '../../src/ops/linear.js';
import { GEMV_MAX_ROWS, gemmClass, gemvClass, policyFor } from '../../src/ops/policy.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const small = await testGpu({ limitOverrides: { maxStorageBufferBindingSize: 4096 } });
const gpu = await testGpu();

test('splitRows: parts within the limit, as equal as possible, summing to N', () => {
  assert.deepEqual(splitRows(small, 10, 8, 'f32'), [10]); // 320 B fits
  fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom('f32' as const, 'f16' as const), (N, K, dt) => {
    const rows = splitRows(small, N, K, dt);
    const bpe = dt === 'f32' ? 4 : 2;
    assert.equal(rows.reduce((a, b) => a + b, 0), N);
    for (const r of rows) assert.ok(Math.ceil((r * K * bpe) / 4) * 4 <= 4096, `part of ${r} rows × ${K} ${dt} over 4096 B`);
    assert.ok(Math.max(...rows) - Math.min(...rows) <= 1);
  }), { numRuns: 200 });
  // The 7B gate_proj [18944, 3584] f16 is 129.5 MiB: two parts under the real 128 MiB limit.
  assert.deepEqual(splitRows(small, 18944, 3584, 'f16', 128 * 2 ** 20).length, 2);
});

test('linear over a SplitWeight matches the reference (GEMV and GEMM rows, with and without bias)', async () => {
  await fc.assert(fc.asyncProperty(fc.constantFrom(1, 3, 13), fc.constantFrom(67, 75) /* y [13, N] f32 must stay within 4096 B too */, fc.constantFrom(16, 31), fc.boolean(), fc.nat(),
    async (M, N, K, withBias, seed) => {
      const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), b = randomArray(N, seed + 2);
      const weight = uploadWeight(small, w, [N, K], 'f32', 'w');
      assert.ok(weight instanceof SplitWeight && weight.parts.length > 1, `${N}×${K} f32 should split under 4096 B`);
      const y = scope(() => linear(Tensor.fromArray(small, x, [M, K]), weight, withBias ? Tensor.fromArray(small, b, [N]) : undefined));
      const got = await y.toArray();
      y.dispose(); weight.dispose();
      assertClose(got, matmulRef(x, w, M, N, K, withBias ? b : undefined), { atol: 2e-6 * K, rtol: 1e-5 }, `split linear M=${M} N=${N} K=${K}`);
    }), { numRuns: 8 });
});

test('linear refuses an unsplit weight over the binding limit, naming it, before any GPU work', () => {
  const w = Tensor.zeros(small, [64, 32], 'f32', 'model.layers.0.mlp.gate_proj.weight'); // 8192 B
  const x = Tensor.zeros(small, [1, 32]);
  const before = small.stream.dispatches;
  assert.throws(() => linear(x, w), (e: Error) => e.name === 'LimitError' && e.message.includes('gate_proj'));
  assert.equal(small.stream.dispatches, before);
  x.dispose(); w.dispose();
});

test('linear runs the policy\'s GEMV up to GEMV_MAX_ROWS rows and its GEMM above (traced dispatches)', () => {
  const K = 24, N = 10;
  const policy = policyFor(gpu);
  const GEMV = policy.choose('gemv', gemvClass(K)).candidate, GEMM = policy.choose('gemm', gemmClass(K)).candidate;
  const w = Tensor.fromArray(gpu, randomArray(N * K, 3), [N, K], 'f32', 'w');
  for (const M of [1, GEMV_MAX_ROWS, GEMV_MAX_ROWS + 1, 30]) {
    const x = Tensor.fromArray(gpu, randomArray(M * K, M), [M, K], 'f32', 'x');
    const { result, dispatched } = gpu.kernels.trace(() => linear(x, w));
    const want = M <= GEMV_MAX_ROWS ? { variant: GEMV.name, TM: M, TN: GEMV.params.tn } : { variant: GEMM.name, TM: GEMM.params.tm, TN: GEMM.params.tn };
    assert.deepEqual(dispatched.map((s) => ({ variant: s.label?.split(' ')[1], TM: s.defines?.TM, TN: s.defines?.TN })), [want], `M = ${M}`);
    result.dispose(); x.dispose();
  }
  w.dispose();
});

test('linear: leading dimensions flatten into rows; wrong shapes name both', async () => {
  const K = 20, N = 9;
  const x = randomArray(2 * 3 * K, 1), w = randomArray(N * K, 2);
  const y = scope(() => linear(Tensor.fromArray(gpu, x, [2, 3, K]), Tensor.fromArray(gpu, w, [N, K])));
  assert.deepEqual(y.shape, [2, 3, N]);
  assertClose(await y.toArray(), matmulRef(x, w, 6, N, K), { atol: 2e-6 * K, rtol: 1e-5 }, 'linear [2,3,K]');
  y.dispose();
  const a = Tensor.zeros(gpu, [2, 5]), b = Tensor.zeros(gpu, [3, 4]);
  assert.throws(() => linear(a, b), (e: Error) => e.name === 'ShapeError' && e.message.includes('[2, 5]') && e.message.includes('[3, 4]'));
  a.dispose(); b.dispose();
});
