// Benchmark cases for the linear-layer kernels: y = x·Wᵀ, x [M, K], W [N, K] (shape strings are M×K×N).
// check() recomputes a sample of output rows in float64 (the whole reference at 1024³ costs ~1 s of JS).
import type { Gpu } from '../../core/device.js';
import { fromF16, toF16 } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import type { BenchCase, PreparedCase } from '../case.js';
import { TILE, matmulTiled } from '../../ops/matmul.js';
import { linear, uploadWeight, type Weight } from '../../ops/linear.js';
import { GEMV_MAX_ROWS, gemmClass } from '../../ops/policy.js';
import { matmulRows, ROWS_DEFAULT } from '../../ops/matmul_rows.js';
import { matmulBcast, BCAST_DEFAULT } from '../../ops/matmul_bcast.js';

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

type Op = 'linear' | 'tiled' | 'rows' | 'bcast';

const NAMES: Record<Op, string> = { linear: 'linear', tiled: `tiled${TILE}`, rows: `rows${ROWS_DEFAULT.tm}x${ROWS_DEFAULT.tn}`,
  bcast: `bcast${BCAST_DEFAULT.tm}x${BCAST_DEFAULT.tn}` };

/** group: the name's prefix after 'matmul.' (e.g. 'demo.') so that `--filter matmul.demo` runs one comparison. */
function matmulCase(op: Op, M: number, K: number, N: number, wd: 'f32' | 'f16', group = ''): BenchCase {
  const gemv = op === 'linear' && M <= GEMV_MAX_ROWS;
  return {
    // The linear cases' variant comes from the policy (printed beside each row); the others' from their parameters.
    name: `${gemv ? 'gemv' : `matmul.${group}${NAMES[op]}`}.w${wd}`,
    ...(op === 'linear' ? { policy: gemv ? { op: 'gemv', cls: 'any' } : { op: 'gemm', cls: gemmClass(K) } } : {}),
    shape: `${M}×${K}×${N}`,
    flops: 2 * M * N * K,
    bytes: N * K * (wd === 'f32' ? 4 : 2) + 4 * (M * K + M * N),
    bound: gemv ? 'memory' : 'compute-f32',
    prepare(gpu: Gpu): PreparedCase {
      const xh = random(M * K, 1);
      let wh = random(N * K, 2);
      let w: Weight;
      if (wd === 'f16') {
        const bits = toF16(wh);
        wh = fromF16(bits);
        w = uploadWeight(gpu, bits, [N, K], 'f16', 'w');
      } else {
        w = uploadWeight(gpu, wh, [N, K], 'f32', 'w');
      }
      const x = Tensor.fromArray(gpu, xh, [M, K], 'f32', 'x');
      const variant = { tiled: matmulTiled, rows: matmulRows, bcast: matmulBcast, linear: undefined }[op];
      const run = () => (variant ? variant(x, w as Tensor) : linear(x, w));
      return {
        run,
        async check() {
          const y = run();
          const got = (await y.toArray()) as Float32Array;
          y.dispose();
          const rows = [0, M - 1, Math.floor(M / 2), Math.floor(M / 3)];
          for (const m of rows) {
            for (let n = 0; n < N; n += n < 64 ? 1 : 97) {
              let acc = 0;
              for (let k = 0; k < K; k++) acc += xh[m * K + k]! * wh[n * K + k]!;
              const g = got[m * N + n]!;
              if (!(Math.abs(g - acc) <= 2e-6 * K + 1e-5 * Math.abs(acc))) return `y[${m}, ${n}] = ${g}, want ${acc}`;
            }
          }
          return undefined;
        },
        dispose() { x.dispose(); w.dispose(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  const out: BenchCase[] = [matmulCase('tiled', 1024, 1024, 1024, 'f32')];
  for (const wd of ['f32', 'f16'] as const) {
    for (const [M, K, N] of [[1024, 1024, 1024], [729, 1152, 4304], [729, 4304, 1152], [512, 3584, 3584], [1, 3584, 18944], [1, 18944, 3584]] as const) {
      out.push(matmulCase('linear', M, K, N, wd));
    }
  }
  // A large GEMM: matmul_reg beside the subgroup-broadcast variant (`--filter matmul.big`).
  out.push(matmulCase('linear', 1024, 1024, 1024, 'f32', 'big.'), matmulCase('bcast', 1024, 1024, 1024, 'f32', 'big.'));
  // The demo model's small-K shapes (vision on 100 frames of 729 patches, prefill of 2589 tokens):
  // matmul_reg beside matmul_rows, f32 as the demo runs on lavapipe (`bench kernels --filter matmul.demo`).
  for (const [M, K, N] of [[72900, 32, 32], [72900, 48, 48], [8100, 48, 48], [2589, 48, 128], [2589, 128, 48], [2589, 48, 24]] as const) {
    out.push(matmulCase('linear', M, K, N, 'f32', 'demo.'), matmulCase('rows', M, K, N, 'f32', 'demo.'));
  }
  return out;
}
