// GEMM variants of this checkout side by side, alternated call by call in rounds (GPU timestamps,
// median), with the f32 FMA-ceiling kernel of `bench ceilings` (128 Ki invocations × 2048 steps)
// timed at the start of each round: on a shared, noisy machine only figures taken together compare.
// Prints per shape: ms, GFLOP/s, the time as a multiple of the first variant's, and the median over
// rounds of GFLOP/s ÷ that round's ceiling.
//   node scripts/matmul-ab.mjs "M,K,N;M,K,N" "VARIANT;VARIANT..." [ROUNDS]
// VARIANT: sub:TM,TN (matmul_subgroup) | rows:TM,TN (matmul_rows) | reg:TM,TN,VEC (matmul_reg, 8 lanes)
//          | shared:TM,TN,WX,WY (matmul_shared, BK 16) | linear (the policy's pick). f32 x and W.
// e.g. node scripts/matmul-ab.mjs "1024,1024,1024;729,1152,4304" "reg:12,12,1;sub:4,16;sub:4,24" 5
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/src/', import.meta.url));
const L = await import(`${dist}index.js`);
const { GpuTimer, median } = await import(`${dist}core/timer.js`);
const { matmulRows } = await import(`${dist}ops/matmul_rows.js`);
const { matmulSubgroup } = await import(`${dist}ops/matmul_subgroup.js`);
const { matmulShared } = await import(`${dist}ops/matmul_shared.js`);
const { matmulReg } = await import(`${dist}ops/matmul.js`);
const { linear } = await import(`${dist}ops/linear.js`);

if (process.argv.length < 4) { console.error('usage: node scripts/matmul-ab.mjs "M,K,N;..." "VARIANT;..." [ROUNDS]'); process.exit(2); }
const shapes = process.argv[2].split(';').map((s) => s.split(',').map(Number));
const variants = process.argv[3].split(';').map((spec) => {
  const [kind, args = ''] = spec.split(':');
  const n = args.split(',').map(Number);
  const run = {
    sub: (x, w) => matmulSubgroup(x, w, undefined, { tm: n[0], tn: n[1], vec: 4 }),
    rows: (x, w) => matmulRows(x, w, undefined, { tm: n[0], tn: n[1], wg: 8, vec: 4 }),
    reg: (x, w) => matmulReg(x, w, undefined, { tm: n[0], tn: n[1], wg: 8, vec: n[2] }),
    shared: (x, w) => matmulShared(x, w, undefined, { tm: n[0], tn: n[1], wx: n[2], wy: n[3], bk: 16 }),
    linear: (x, w) => linear(x, w),
  }[kind];
  if (!run) { console.error(`unknown variant "${spec}"`); process.exit(2); }
  return { spec, run };
});
const rounds = Number(process.argv[4] ?? 5);

const gpu = await L.requestGpu();
const timer = new GpuTimer(gpu);
const vals = (n, seed) => { const a = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; } return a; };

// The FMA ceiling: 8 independent vec4 FMA chains an invocation, 64-wide workgroups (ops/tune.ts fmaRate).
const inv = 128 * 1024, iters = 2048;
const fx = L.Tensor.zeros(gpu, [inv * 4]), fy = L.Tensor.empty(gpu, [inv * 4]);
const fmaK = gpu.kernels.get({ source: 'ceilings', entryPoint: 'fma_rate', defines: { T: 'f32' }, constants: { WG: 64 } });
const fmaRun = () => fmaK.dispatch([fx.binding(), fy.binding()], inv / 64, new Uint32Array([inv, iters, 0, 0]));
let fmaMs = (await timer.time(fmaRun)).ms;
const fmaGflops = async () => { fmaMs = (await timer.time(fmaRun, fmaMs)).ms; return (inv * iters * 8 * 4 * 2) / (fmaMs * 1e6); };

for (const [M, K, N] of shapes) {
  const flop = 2 * M * K * N;
  const x = L.Tensor.fromArray(gpu, vals(M * K, 1), [M, K]), w = L.Tensor.fromArray(gpu, vals(N * K, 2), [N, K]);
  const ms = variants.map(() => []), share = variants.map(() => []), ceilings = [];
  for (const v of variants) { v.run(x, w).dispose(); await gpu.sync(); } // compile, first touch
  for (let r = 0; r < rounds; r++) {
    const ceiling = await fmaGflops();
    ceilings.push(ceiling);
    for (let i = 0; i < variants.length; i++) {
      let y;
      const t = (await timer.time(() => { y = variants[i].run(x, w); }, ms[i].length ? median(ms[i]) : 0)).ms;
      y.dispose();
      ms[i].push(t);
      share[i].push(flop / t / 1e6 / ceiling);
    }
  }
  console.log(`${M}×${K}×${N}: f32 FMA ceiling by round ${ceilings.map((c) => c.toFixed(1)).join(' ')} GFLOP/s`);
  const base = median(ms[0]);
  variants.forEach((v, i) => {
    const t = median(ms[i]);
    console.log(`  ${v.spec.padEnd(16)} ${t.toFixed(2).padStart(9)} ms ${(flop / t / 1e6).toFixed(2).padStart(7)} GFLOP/s ${(t / base).toFixed(2)}× ${(100 * median(share[i])).toFixed(0).padStart(4)}% of the round's ceiling`);
  });
  x.dispose(); w.dispose();
}
fx.dispose(); fy.dispose(); timer.destroy();
