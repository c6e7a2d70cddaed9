// The GEMM variants against the float64 reference, over odd shapes (1, primes, sizes that are not
// multiples of the tile, of the workgroup or of matmul_bcast's 32-value K chunk), tile parameters
// and the dtypes of x, W and bias:
//   matmulRows  (ops/matmul_rows.ts: lanes over rows, a TM×TN block of y per invocation)
//   matmulBcast (ops/matmul_bcast.ts: x shared between lanes by subgroupBroadcast; K % 4 = 0)
//   matmulSubgroup (ops/matmul_subgroup.ts: x and W shared between 8 lanes by subgroupBroadcast;
//                 row blocks of 8·TM that M does not fill, any K, vectors of 4, 2 or 1)
//   matmulShared (ops/matmul_shared.ts: workgroup-memory tiles, 2-D register tiles; K tiles of BK
//                 that K = 67 or 100 leaves partly empty, blocks of 8..128 rows that M, N do not fill)
// Tolerances as for matmul_reg (test/ops/matmul.test.ts): inputs are rounded to their storage
// dtype first, so the reference sees what the GPU sees; what is left is f32 accumulation, below
// 2e-6·K absolute + 1e-5 relative for |x|, |w| <= 1, plus one rounding to half for an f16 y
// (2^-11 relative; 1e-3 and 2e-3 absolute allow it with margin). A wrong index gives O(1) errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { matmulRows, type RowsParams } from '../../src/ops/matmul_rows.js';
import { matmulBcast, type BcastParams } from '../../src/ops/matmul_bcast.js';
import { matmulSubgroup, recordSubgroup, type SubgroupParams } from '../../src/ops/matmul_subgroup.js';
import { matmulShared, type SharedParams } from '../../src/ops/matmul_shared.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { assertClose, randomArray, testGpu, uploadAs } from '../support/gpu.js';

const gpu = await testGpu();
type Dt = 'f32' | 'f16';
const dtypes: Dt[] = gpu.hasF16 ? ['f32', 'f16'] : ['f32'];

const upload = (data: Float32Array, shape: number[], dt: Dt) => uploadAs(gpu, data, shape, dt);

const size = fc.constantFrom(1, 2, 3, 5, 8, 13, 17, 31, 48, 67);
// A few specializations of each (each is a compile): square and skewed tiles, one and several
// rows a lane, scalar and vector loads, workgroups of one SIMD vector and of several.
const variants = [
  { name: 'matmulRows', K: size, op: matmulRows, params: fc.constantFrom<RowsParams>(
    { tm: 4, tn: 8, wg: 8, vec: 4 }, { tm: 1, tn: 1, wg: 8, vec: 1 }, { tm: 3, tn: 5, wg: 16, vec: 2 }, { tm: 8, tn: 8, wg: 8, vec: 4 }) },
  ...(gpu.hasSubgroups ? [{ name: 'matmulBcast', K: fc.constantFrom(4, 12, 32, 36, 100), op: matmulBcast, params: fc.constantFrom<BcastParams>(
    { tm: 8, tn: 4, wg: 8 }, { tm: 3, tn: 2, wg: 16 }) }] : []),
  ...(gpu.hasSubgroupsOf(8) ? [{ name: 'matmulSubgroup', K: size, op: matmulSubgroup, params: fc.constantFrom<SubgroupParams>(
    { tm: 4, tn: 8, vec: 4 }, { tm: 1, tn: 8, vec: 1 }, { tm: 3, tn: 16, vec: 2 }) }] : []),
  // Small skewed blocks (wx != wy, tm != tn; BK of 4 and 8): the GPU candidates' 64- and 256-lane
  // blocks compile ~5× slower on lavapipe, so test/ops/policy.test.ts runs those once each.
  // Each run is likely a new specialization (~1.5 s of lavapipe compile), hence fewer runs.
  { name: 'matmulShared', K: fc.constantFrom(1, 3, 4, 17, 32, 67, 100), op: matmulShared, runs: 10, params: fc.constantFrom<SharedParams>(
    { tm: 4, tn: 8, wx: 4, wy: 2, bk: 4 }, { tm: 8, tn: 4, wx: 2, wy: 4, bk: 8 }) },
] as const;

for (const { name, K: kArb, op, params, ...rest } of variants) {
  test(`${name} matches the reference over odd shapes, tiles and dtypes of x, W and bias`, async () => {
    await fc.assert(fc.asyncProperty(size, size, kArb, params, fc.constantFrom(...dtypes), fc.constantFrom(...dtypes), fc.boolean(), fc.nat(),
      async (M, N, K, prm, xd, wd, withBias, seed) => {
        const x = upload(randomArray(M * K, seed), [M, K], xd), w = upload(randomArray(N * K, seed + 1), [N, K], wd);
        const b = upload(randomArray(N, seed + 2), [N], wd);
        const y = scope(() => (op as (x: Tensor, w: Tensor, b: Tensor | undefined, p: typeof prm) => Tensor)(x.t, w.t, withBias ? b.t : undefined, prm));
        const got = await y.toArray();
        y.dispose(); x.t.dispose(); w.t.dispose(); b.t.dispose();
        const tol = xd === 'f16' ? { atol: 2e-6 * K + 2e-3, rtol: 1e-3 } : { atol: 2e-6 * K, rtol: 1e-5 };
        assertClose(got, matmulRef(x.exact, w.exact, M, N, K, withBias ? b.exact : undefined), tol,
          `${name} M=${M} N=${N} K=${K} ${JSON.stringify(prm)} x ${xd} W ${wd}`);
      }), { numRuns: 'runs' in rest ? rest.runs : 16 });
  });
}

test('matmulRows at the demo model\'s shape class: many rows, K = 48, into a leading-dims x', async () => {
  const M = 3 * 331, K = 48, N = 24;
  const x = randomArray(M * K, 11), w = randomArray(N * K, 12), b = randomArray(N, 13);
  const y = scope(() => matmulRows(Tensor.fromArray(gpu, x, [3, 331, K]), Tensor.fromArray(gpu, w, [N, K]), Tensor.fromArray(gpu, b, [N])));
  assert.deepEqual(y.shape, [3, 331, N]);
  assertClose(await y.toArray(), matmulRef(x, w, M, N, K, b), { atol: 2e-6 * K, rtol: 1e-5 }, 'matmulRows 993×48×24');
  y.dispose();
});

test('matmulSubgroup writes a weight split in parts into one y (ycol0, bcol0), f32 and f16 weights', { skip: !gpu.hasSubgroupsOf(8) }, async () => {
  await fc.assert(fc.asyncProperty(size, size, size, size, fc.constantFrom(...dtypes), fc.boolean(), fc.nat(),
    async (M, N1, N2, K, wd, withBias, seed) => {
      const N = N1 + N2;
      const x = upload(randomArray(M * K, seed), [M, K], 'f32'), w = upload(randomArray(N * K, seed + 1), [N, K], wd);
      const b = upload(randomArray(N, seed + 2), [N], wd);
      const w1 = upload(w.exact.slice(0, N1 * K), [N1, K], wd), w2 = upload(w.exact.slice(N1 * K), [N2, K], wd);
      const y = Tensor.empty(gpu, [M, N], 'f32', 'y');
      recordSubgroup(x.t, [{ w: w1.t, ycol0: 0, bcol0: 0 }, { w: w2.t, ycol0: N1, bcol0: N1 }], y, withBias ? b.t : undefined, { tm: 3, tn: 16, vec: 4 });
      const got = await y.toArray();
      for (const t of [y, x.t, w.t, b.t, w1.t, w2.t]) t.dispose();
      assertClose(got, matmulRef(x.exact, w.exact, M, N, K, withBias ? b.exact : undefined), { atol: 2e-6 * K, rtol: 1e-5 }, `parts M=${M} N=${N1}+${N2} K=${K} W ${wd}`);
    }), { numRuns: 8 });
});

test('the variants refuse mismatched shapes and integer dtypes before any GPU work; matmulBcast a K not a multiple of 4', () => {
  const x = Tensor.zeros(gpu, [2, 4]), w = Tensor.zeros(gpu, [4, 5]), wi = Tensor.zeros(gpu, [4, 4], 'i32');
  const x3 = Tensor.zeros(gpu, [2, 3]), w3 = Tensor.zeros(gpu, [4, 3]);
  for (const { op } of variants) {
    assert.throws(() => op(x, w), (e: Error) => e.name === 'ShapeError' && /\[2, 4\]/.test(e.message) && /\[4, 5\]/.test(e.message));
    assert.throws(() => op(x, wi), (e: Error) => e.name === 'DTypeError' && e.message.includes(wi.name));
  }
  if (gpu.hasSubgroups) assert.throws(() => matmulBcast(x3, w3), (e: Error) => e.name === 'ShapeError' && /K = 3/.test(e.message));
  for (const t of [x, w, wi, x3, w3]) t.dispose();
});
