// The memory-bound row kernels (LayerNorm, RMSNorm, softmax, gelu; f16, and the demo model's narrow
// f32 rows: LayerNorm, gelu_erf, residual and bias adds at 72900×48) of another built checkout
// and of this one, in ONE process on two devices of the same adapter, alternated call by call (GPU
// timestamps, median), with the read-bandwidth kernel of `bench ceilings` timed in the same loop:
// on a shared, noisy machine only figures taken together compare. Prints ms, GB/s (x read once + y
// written once) and that as % of the read ceiling, the ratio, and the largest relative difference
// of the two outputs. The traffic.* rows run on this checkout only: the loads and stores of the
// f16 kernel of the same name and shape, with integer xors for all its arithmetic
// (row_probe.wgsl `traffic`), so their share of the read ceiling bounds the kernel's.
//   node scripts/compare-kernels.mjs BASE_CHECKOUT [FILTER] [ROUNDS]
// BASE_CHECKOUT: e.g. `git worktree add /tmp/base main && (cd /tmp/base && npm ci && npm run build)`.
import { fileURLToPath } from 'node:url';

const baseDir = process.argv[2];
if (!baseDir) { console.error('usage: node scripts/compare-kernels.mjs BASE_CHECKOUT [FILTER] [ROUNDS]'); process.exit(2); }
const here = fileURLToPath(new URL('..', import.meta.url));
const [A, B] = await Promise.all([baseDir, here].map((d) => import(`${d}/dist/src/index.js`)));
const timerOf = async (d) => (await import(`${d}/dist/src/core/timer.js`));
const [TA, TB] = await Promise.all([baseDir, here].map(timerOf));
const ga = await A.requestGpu(), gb = await B.requestGpu();
const ta = new TA.GpuTimer(ga), tb = new TB.GpuTimer(gb);
const vals = (n, seed, scale) => { const a = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 * 2 - 1) * scale; } return a; };
const up = (L, g, a, shape, dtype) => (dtype === 'f16' ? L.Tensor.fromArray(g, L.toF16(a), shape, 'f16') : L.Tensor.fromArray(g, a, shape));
// name, rows, columns, op over (library, device, x, w [C], b [C]), dtype, and how many more [R, C]
// inputs it reads beyond x (the residual-shaped add reads x twice, as two inputs)
const cases = [
  ['layernorm.f16 729×1152', 729, 1152, (L, g, x, w, b) => L.layerNorm(x, w, b, 1e-6)],
  ['rmsnorm.f16 2600×3584', 2600, 3584, (L, g, x, w) => L.rmsNorm(x, w, 1e-6)],
  ['softmax.f16 16384×1024', 16384, 1024, (L, g, x) => L.softmax(x)],
  ['softmax.f16 64×151936', 64, 151936, (L, g, x) => L.softmax(x)],
  ['gelu_tanh.f16 729×4304', 729, 4304, (L, g, x) => L.gelu(x, 'tanh')],
  ['layernorm.f32 72900×48', 72900, 48, (L, g, x, w, b) => L.layerNorm(x, w, b, 1e-6), 'f32'],
  ['layernorm.f32 72900×32', 72900, 32, (L, g, x, w, b) => L.layerNorm(x, w, b, 1e-6), 'f32'],
  ['gelu_erf.f32 72900×48', 72900, 48, (L, g, x) => L.gelu(x, 'erf'), 'f32'],
  ['add.f32 72900×48 + 48', 72900, 48, (L, g, x, w) => L.add(x, w), 'f32'],
  ['add.f32 72900×48 + itself', 72900, 48, (L, g, x) => L.add(x, x), 'f32', 1],
  ['traffic.layernorm 729×1152', 729, 1152, (L, g, x, w, b) => traffic(L, g, x, 1, [w, b]), 'f16', 0, true],
  ['traffic.rmsnorm 2600×3584', 2600, 3584, (L, g, x, w) => traffic(L, g, x, 1, [w]), 'f16', 0, true],
  ['traffic.softmax 16384×1024', 16384, 1024, (L, g, x) => traffic(L, g, x, 2, []), 'f16', 0, true],
];
// row_probe.wgsl's traffic over x [R, C] f16, with the weights [C] packed one after the other
const { runTraffic } = await import(`${here}/dist/src/bench/kernels/row_probe.js`);
function traffic(L, g, x, reads, weights) {
  const w = weights.length > 1 ? L.concatRows(weights) : weights[0];
  const y = runTraffic(x, w, reads, weights.length);
  if (weights.length > 1) w.dispose();
  return y;
}
const filter = process.argv[3];
const rounds = Number(process.argv[4] ?? 7);
// read ceiling: 64 MiB of f32 vec4 read in chunks (bench/ceilings.ts), on B's device
const bytesR = 64 << 20, big = B.Tensor.zeros(gb, [bytesR / 4]), out = B.Tensor.empty(gb, [bytesR / 4]);
const readK = gb.kernels.get({ source: 'ceilings', entryPoint: 'read_rate', defines: { T: 'f32' }, constants: { WG: 64 } });
const readRun = () => readK.dispatch([big.binding(), out.binding()], Math.ceil(Math.ceil(bytesR / 16 / 256) / 64), new Uint32Array([bytesR / 16, 0, 256, 0]));
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const [name, R, C, op, dtype = 'f16', extra = 0, thisOnly = false] of cases) {
  if (filter && !name.includes(filter)) continue;
  const x = vals(R * C, 1, 3), w = vals(C, 2, 1), bb = vals(C, 3, 0.1);
  const ia = [up(A, ga, x, [R, C], dtype), up(A, ga, w, [C], dtype), up(A, ga, bb, [C], dtype)];
  const ib = [up(B, gb, x, [R, C], dtype), up(B, gb, w, [C], dtype), up(B, gb, bb, [C], dtype)];
  const runA = thisOnly ? () => {} : () => op(A, ga, ...ia).dispose(), runB = () => op(B, gb, ...ib).dispose();
  // agreement of the two outputs (a this-only row compares itself)
  const yb = op(B, gb, ...ib), ya = thisOnly ? yb : op(A, ga, ...ia);
  const da = await ya.toArray(), db = await yb.toArray(); yb.dispose(); if (!thisOnly) ya.dispose();
  let maxd = 0; for (let i = 0; i < da.length; i++) maxd = Math.max(maxd, Math.abs(da[i] - db[i]) / (1e-3 + Math.abs(da[i])));
  await ta.time(runA); await tb.time(runB); await tb.time(readRun);
  const ms = { a: [], b: [], r: [] };
  for (let r = 0; r < rounds; r++) {
    ms.a.push((await ta.time(runA)).ms); ms.b.push((await tb.time(runB)).ms); ms.r.push((await tb.time(readRun)).ms);
  }
  const bytes = (2 + extra) * R * C * (dtype === 'f16' ? 2 : 4), readGBs = bytesR / (med(ms.r) * 1e6);
  const f = (m) => `${med(m).toFixed(2)} ms ${(bytes / (med(m) * 1e6)).toFixed(2)} GB/s = ${(100 * bytes / (med(m) * 1e6) / readGBs).toFixed(0)}% of read`;
  const read = `read ceiling ${readGBs.toFixed(2)} GB/s`;
  if (thisOnly) console.log(`${name.padEnd(24)} this ${f(ms.b)} | ${read}`);
  else console.log(`${name.padEnd(24)} base ${f(ms.a)} | this ${f(ms.b)} | base/this ${(med(ms.a) / med(ms.b)).toFixed(2)}× | ${read} | max rel diff ${maxd.toExponential(1)}`);
  for (const t of [...ia, ...ib]) t.dispose();
}
ga.destroy(); gb.destroy();
