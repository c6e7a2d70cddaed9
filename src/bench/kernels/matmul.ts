// Benchmark cases for the linear-layer kernels: y = x·Wᵀ, x [M, K], W [N, K] (shape strings are M×K×N).
// check() recomputes a sample of output rows in float64 (the whole reference at 1024³ costs ~1 s of JS).
import type { Gpu } from '../../core/device.js';
import { fromF16, toF16 } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import { readBack, type BenchCase, type PreparedCase } from '../case.js';
import { TILE, matmulTiled } from '../../ops/matmul.js';
import { linear, uploadWeight, type Weight } from '../../ops/linear.js';
import { GEMV_MAX_ROWS, gemmClass, gemvClass } from '../../ops/policy.js';
import { matmulRows, ROWS_DEFAULT } from '../../ops/matmul_rows.js';
import { matmulBcast, BCAST_DEFAULT } from '../../ops/matmul_bcast.js';
import { matmulSubgroup } from '../../ops/matmul_subgroup.js';
import { matmulReg } from '../../ops/matmul.js';
import { matmulShared, SHARED_DEFAULT } from '../../ops/matmul_shared.js';

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

type Op = 'linear' | 'tiled' | 'rows' | 'bcast' | 'shared';
/** A kernel with explicit parameters, named for the roofline table (x f16: the f16 compute path). */
interface Fixed { name: string; run: (x: Tensor, w: Tensor) => Tensor; xd?: 'f16'; note?: string }

const NAMES: Record<Op, string> = { linear: 'linear', tiled: `tiled${TILE}`, rows: `rows${ROWS_DEFAULT.tm}x${ROWS_DEFAULT.tn}`,
  bcast: `bcast${BCAST_DEFAULT.tm}x${BCAST_DEFAULT.tn}`, shared: `shared${SHARED_DEFAULT.wy * SHARED_DEFAULT.tm}x${SHARED_DEFAULT.wx * SHARED_DEFAULT.tn}` };

/** group: the name's prefix after 'matmul.' (e.g. 'demo.') so that `--filter matmul.demo` runs one comparison. */
function matmulCase(op: Op | Fixed, M: number, K: number, N: number, wd: 'f32' | 'f16', group = ''): BenchCase {
  const gemv = op === 'linear' && M <= GEMV_MAX_ROWS;
  const fixed = typeof op === 'object' ? op : undefined;
  const xd = fixed?.xd ?? 'f32';
  return {
    // The linear cases' variant comes from the policy (printed beside each row); the others' from their parameters.
    name: `${gemv ? `gemv${group ? `.${group.slice(0, -1)}` : ''}` : `matmul.${group}${fixed ? fixed.name : NAMES[op as Op]}`}${xd === 'f16' ? '.xf16' : ''}.w${wd}`,
    ...(op === 'linear' ? { policy: gemv ? { op: 'gemv', cls: gemvClass(K) } : { op: 'gemm', cls: gemmClass(K) } } : {}),
    shape: `${M}×${K}×${N}${fixed?.note ? `, ${fixed.note}` : ''}`,
    flops: 2 * M * N * K,
    bytes: N * K * (wd === 'f32' ? 4 : 2) + (xd === 'f32' ? 4 : 2) * (M * K + M * N),
    bound: gemv ? 'memory' : 'compute-f32',
    prepare(gpu: Gpu): PreparedCase {
      let xh = random(M * K, 1);
      let wh = random(N * K, 2);
      let w: Weight;
      if (wd === 'f16') {
        const bits = toF16(wh);
        wh = fromF16(bits);
        w = uploadWeight(gpu, bits, [N, K], 'f16', 'w');
      } else {
        w = uploadWeight(gpu, wh, [N, K], 'f32', 'w');
      }
      let x: Tensor;
      if (xd === 'f16') {
        const bits = toF16(xh);
        xh = fromF16(bits);
        x = Tensor.fromArray(gpu, bits, [M, K], 'f16', 'x');
      } else {
        x = Tensor.fromArray(gpu, xh, [M, K], 'f32', 'x');
      }
      const variant = fixed?.run ?? { tiled: matmulTiled, rows: matmulRows, bcast: matmulBcast, shared: matmulShared, linear: undefined }[op as Op];
      const run = () => (variant ? variant(x, w as Tensor) : linear(x, w));
      return {
        run,
        async check() {
          const got = await readBack(run);
          const rows = [0, M - 1, Math.floor(M / 2), Math.floor(M / 3)];
          for (const m of rows) {
            for (let n = 0; n < N; n += n < 64 ? 1 : 97) {
              let acc = 0;
              for (let k = 0; k < K; k++) acc += xh[m * K + k]! * wh[n * K + k]!;
              const g = got[m * N + n]!;
              // An f16 y adds one rounding to half (2^-11 relative).
              if (!(Math.abs(g - acc) <= 2e-6 * K + (xd === 'f16' ? 1e-3 : 1e-5) * Math.abs(acc))) return `y[${m}, ${n}] = ${g}, want ${acc}`;
            }
          }
          return undefined;
        },
        dispose() { x.dispose(); w.dispose(); },
      };
    },
  };
}

const reg = (tm: number, tn: number, vec: number) => (x: Tensor, w: Tensor) => matmulReg(x, w, undefined, { tm, tn, wg: 8, vec });
const rows = (tm: number, tn: number) => (x: Tensor, w: Tensor) => matmulRows(x, w, undefined, { tm, tn, wg: 8, vec: 4 });
const bcast = (tm: number, tn: number) => (x: Tensor, w: Tensor) => matmulBcast(x, w, undefined, { tm, tn, wg: 8 });
const sub = (tm: number, tn: number): Fixed => ({ name: `sub${tm}x${tn}.v4`, run: (x, w) => matmulSubgroup(x, w, undefined, { tm, tn, vec: 4 }),
  note: `L ${tm} + ${tn / 8}, B ${tn}, F ${tm * tn}, A ${tm * tn}` });
// matmul_subgroup tiles: the policy's candidates, then two that lost (6×16; 4×32, whose 128 sums spill).
const SUB_TILES: [number, number][] = [[2, 16], [4, 16], [4, 24], [6, 16], [4, 32]];
// Per lane and step: L per-lane loads (vec4 unless said), B broadcasts, F vec4-FMAs (4 scalar FMAs each), A accumulator floats.
const ROOFLINE: [Fixed, 'f32' | 'f16'][] = [
  [{ name: 'reg12x12.k8', run: reg(12, 12, 1), note: 'L 24 scalar, F 36, A 144' }, 'f32'],
  [{ name: 'reg8x8.k8v4', run: reg(8, 8, 4), note: 'L 16, F 64, A 256' }, 'f32'],
  [{ name: 'reg8x8.k8v4', run: reg(8, 8, 4), note: 'L 8 + 8 half-width (f16 W), F 64, A 256' }, 'f16'],
  [{ name: 'reg8x8.k8v4', run: reg(8, 8, 4), xd: 'f16', note: 'L 16 half-width, F 64, A 256' }, 'f16'],
  [{ name: 'rows4x8.v4', run: rows(4, 8), note: 'L 12, F 32, A 32' }, 'f32'],
  [{ name: 'rows8x8.v4', run: rows(8, 8), note: 'L 16, F 64, A 64' }, 'f32'],
  [{ name: 'rows8x8.v4', run: rows(8, 8), xd: 'f16', note: 'L 16 half-width, F 64, A 64' }, 'f16'],
  [{ name: 'rows8x16.v4', run: rows(8, 16), xd: 'f16', note: 'L 24 half-width, F 128, A 128' }, 'f16'],
  [{ name: 'rows12x8.v4', run: rows(12, 8), xd: 'f16', note: 'L 20 half-width, F 96, A 96' }, 'f16'],
  [{ name: 'bcast8x4', run: bcast(8, 4), note: 'per 8 k-vec4: L 8 + 32, B 64, F 256, A 32' }, 'f32'],
  [{ name: 'bcast16x2', run: bcast(16, 2), note: 'per 8 k-vec4: L 16 + 16, B 128, F 256, A 32' }, 'f32'],
  ...SUB_TILES.map(([tm, tn]) => [sub(tm, tn), 'f32'] as [Fixed, 'f32']),
];

export function cases(): BenchCase[] {
  const out: BenchCase[] = [matmulCase('tiled', 1024, 1024, 1024, 'f32')];
  for (const wd of ['f32', 'f16'] as const) {
    for (const [M, K, N] of [[1024, 1024, 1024], [729, 1152, 4304], [729, 4304, 1152], [512, 3584, 3584], [1, 3584, 18944], [1, 18944, 3584]] as const) {
      out.push(matmulCase('linear', M, K, N, wd));
    }
  }
  // A large GEMM: matmul_reg beside the subgroup-broadcast and the GPU-class shared-memory variants
  // (`--filter matmul.big`; on lavapipe matmul_shared's 64 invocations run one after another).
  out.push(matmulCase('linear', 1024, 1024, 1024, 'f32', 'big.'), matmulCase('bcast', 1024, 1024, 1024, 'f32', 'big.'),
    matmulCase('shared', 1024, 1024, 1024, 'f32', 'big.'));
  // The roofline table (`--filter matmul.roof`, beside `--filter loads.`): each tile shape with its
  // per-lane loads and vec4 FMAs a step (README, "Why the GEMM stops at ...").
  for (const [M, K, N] of [[1024, 1024, 1024], [729, 1152, 4304]] as const) {
    for (const [f, wd] of ROOFLINE) out.push(matmulCase(f, M, K, N, wd, 'roof.'));
  }
  // The demo model's small-K shapes (vision on 100 frames of 729 patches, prefill of 2589 tokens):
  // the pick beside matmul_rows and matmul_subgroup, f32 as the demo runs on lavapipe (`bench kernels --filter matmul.demo`).
  for (const [M, K, N] of [[72900, 32, 32], [72900, 48, 48], [72900, 64, 32], [72900, 32, 64], [8100, 48, 48], [2589, 48, 128], [2589, 128, 48], [2589, 48, 24]] as const) {
    out.push(matmulCase('linear', M, K, N, 'f32', 'demo.'), matmulCase('rows', M, K, N, 'f32', 'demo.'));
    for (const [tm, tn] of SUB_TILES.slice(0, 3)) out.push(matmulCase(sub(tm, tn), M, K, N, 'f32', 'demo.'));
  }
  // The demo's lm_head at decode (`--filter gemv.demo`): 29 MB of f32 weights for 48 values of x,
  // the policy's gemv:smallK pick beside every candidate.
  out.push(matmulCase('linear', 1, 48, 151960, 'f32', 'demo.'));
  return out;
}
