// y = x·Wᵀ + b against a float64 reference. Tolerance for f32: the GPU sums K products in f32, so
// the error grows like sqrt(K)·2^-24·Σ|x·w|; with |x|,|w| <= 1 we allow 2e-6·K absolute + 1e-5
// relative, far below any real bug (a wrong index gives O(1) errors).
import { test } from 'node:test';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { matmulTiled } from '../../src/ops/matmul.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { scope } from '../../src/core/registry.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const size = fc.constantFrom(1, 2, 3, 7, 13, 16, 17, 31, 64, 97, 130);

test('matmul (tiled) matches the reference over odd shapes, with and without bias', async () => {
  await fc.assert(fc.asyncProperty(size, size, size, fc.boolean(), fc.nat(), async (M, N, K, withBias, seed) => {
    const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), b = randomArray(N, seed + 2);
    const y = scope(() => matmulTiled(Tensor.fromArray(gpu, x, [M, K]), Tensor.fromArray(gpu, w, [N, K]), withBias ? Tensor.fromArray(gpu, b, [N]) : undefined));
    const got = await y.read() as Float32Array;
    y.dispose();
    assertClose(got, matmulRef(x, w, M, N, K, withBias ? b : undefined), { atol: 2e-6 * K, rtol: 1e-5 }, `matmul M=${M} N=${N} K=${K}`);
  }), { numRuns: 40 });
});
