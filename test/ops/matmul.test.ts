// y = x·Wᵀ + b against a float64 reference. Tolerance for f32: the GPU sums K products in f32, so
// the error grows like sqrt(K)·2^-24·Σ|x·w|; with |x|,|w| <= 1 we allow 2e-6·K absolute + 1e-5
// relative, far below any real bug (a wrong index gives O(1) errors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { matmulTiled } from '../../src/ops/matmul.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { scope } from '../../src/core/registry.js';
import { assertClose, randomArray, testGpu, uploadAs } from '../support/gpu.js';

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

// Register-tiled kernel and GEMV. Inputs are rounded to the storage dtype first, so the reference
// sees exactly what the GPU sees; the remaining error is f32 accumulation (tolerance as above) and,
// for f16 outputs, one rounding to half: 2^-11 relative (1e-3 allows it with margin).
import { linearOp, matmulReg } from '../../src/ops/matmul.js';
import { CANDIDATES, type Candidate } from '../../src/ops/policy.js';

type Dt = 'f32' | 'f16';
const dtypes: Dt[] = gpu.hasF16 ? ['f32', 'f16'] : ['f32'];
const upload = (data: Float32Array, shape: number[], dt: Dt) => uploadAs(gpu, data, shape, dt);
const regSize = fc.constantFrom(1, 2, 3, 5, 8, 12, 13, 17, 31, 64, 97);

// Every variant of the policy's table (ops/policy.ts), each through its own run() as linear() calls it.
const viaCandidate = (c: Candidate<'gemm' | 'gemv'>) => (x: Tensor, w: Tensor, bias: Tensor | undefined): Tensor => {
  const K = x.shape[x.rank - 1]!;
  return linearOp('matmul', x, w, bias, (x, parts, y, b) => c.run({ x, parts, y, bias: b, M: x.size / K, K }, c.params));
};
const variants = [
  ...CANDIDATES.gemm.map((c) => ['gemm', c.name, viaCandidate(c)] as const),
  ...CANDIDATES.gemv.map((c) => ['gemv', c.name, viaCandidate(c)] as const),
];
for (const [name, variant, op] of variants) {
  test(`${name} ${variant} matches the reference over odd shapes, dtypes of x, W and bias`, async () => {
    // Few row counts for the GEMV: each is a kernel specialization, and compiling costs more than running.
    // The GPU-class shared-memory blocks (64-256 lanes) compile ~5 s each on lavapipe: fewer runs;
    // their kernel is swept over shapes and dtypes with small blocks in matmul_variants.test.ts.
    const rows = name === 'gemv' ? fc.constantFrom(1, 4) : regSize;
    await fc.assert(fc.asyncProperty(rows, regSize, regSize, fc.constantFrom(...dtypes), fc.constantFrom(...dtypes), fc.boolean(), fc.nat(),
      async (M, N, K, xd, wd, withBias, seed) => {
        const x = upload(randomArray(M * K, seed), [M, K], xd), w = upload(randomArray(N * K, seed + 1), [N, K], wd);
        const b = upload(randomArray(N, seed + 2), [N], wd);
        const y = scope(() => op(x.t, w.t, withBias ? b.t : undefined));
        const got = await y.toArray();
        y.dispose(); x.t.dispose(); w.t.dispose(); b.t.dispose();
        const tol = xd === 'f16' ? { atol: 2e-6 * K + 2e-3, rtol: 1e-3 } : { atol: 2e-6 * K, rtol: 1e-5 };
        assertClose(got, matmulRef(x.exact, w.exact, M, N, K, withBias ? b.exact : undefined), tol, `${name} ${variant} M=${M} N=${N} K=${K} x ${xd} W ${wd}`);
      }), { numRuns: variant.startsWith('shared') ? 4 : 12 });
  });
}

test('every GEMM variant at a fixed larger shape (several tiles, K not a multiple of 4)', async () => {
  const M = 100, N = 75, K = 301;
  const x = randomArray(M * K, 7), w = randomArray(N * K, 8);
  for (const c of CANDIDATES.gemm) {
    const y = scope(() => viaCandidate(c)(Tensor.fromArray(gpu, x, [M, K]), Tensor.fromArray(gpu, w, [N, K]), undefined));
    assertClose(await y.toArray(), matmulRef(x, w, M, N, K), { atol: 2e-6 * K, rtol: 1e-5 }, `gemm ${c.name} 100×301×75`);
    y.dispose();
  }
});

test('matmulReg refuses mismatched shapes and integer dtypes before any GPU work', () => {
  const x = Tensor.zeros(gpu, [2, 3]), w = Tensor.zeros(gpu, [4, 5]), wi = Tensor.zeros(gpu, [4, 3], 'i32');
  const cfg = CANDIDATES.gemm[0]!.params;
  assert.throws(() => matmulReg(x, w, undefined, cfg), (e: Error) => e.name === 'ShapeError' && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => matmulReg(x, wi, undefined, cfg), (e: Error) => e.name === 'DTypeError' && e.message.includes(wi.name));
  x.dispose(); w.dispose(); wi.dispose();
});
