// The GPU-time profile (core/profiler.ts): a row per kernel label by default, and with byShape
// (LLAVA_ST_PROFILE=shapes) a row per kernel and the op call it served, as the policy describes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { linear } from '../../src/ops/linear.js';
import { layerNorm } from '../../src/ops/norm.js';
import { policyFor } from '../../src/ops/policy.js';
import { randomArray, testGpu } from '../support/gpu.js';

// Each test has a device of its own: a profiler stays on its stream for the device's life.
const run = async (byShape: boolean) => {
  const gpu = await testGpu({});
  const profiler = gpu.stream.profile({ byShape });
  const M = 37, K = 48, N = 29;
  policyFor(gpu).force('gemm=rows4x8.v4,norm=row.wg8');
  scope(() => {
    const x = Tensor.fromArray(gpu, randomArray(M * K, 1), [M, K]);
    linear(x, Tensor.fromArray(gpu, randomArray(N * K, 2), [N, K]));
    layerNorm(x, Tensor.fromArray(gpu, randomArray(K, 3), [K]), Tensor.fromArray(gpu, randomArray(K, 4), [K]), 1e-6);
  });
  return (await profiler.report()).map((t) => t.label);
};

test('by shape: each row names the kernel, the op class and the call (M×K×N, rows×width)', async () => {
  const labels = await run(true);
  assert.ok(labels.includes('matmul_rows rows4x8.v4  gemm:smallK 37×48×29'), labels.join('\n'));
  assert.ok(labels.includes('norm.layer row.wg8  norm:narrow layerNorm 37×48'), labels.join('\n'));
});

test('by kernel (the default): the rows are the kernels alone', async () => {
  const labels = await run(false);
  assert.ok(labels.includes('matmul_rows rows4x8.v4'), labels.join('\n'));
  assert.ok(labels.every((l) => !l.includes('gemm:')), labels.join('\n'));
});
