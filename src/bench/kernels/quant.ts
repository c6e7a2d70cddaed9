// Benchmark cases for linear layers over q8/q4 weights, beside matmul.ts's f32/f16 ones on the same
// shapes: `bench kernels --filter gemv` times f16, q8 and q4 decode GEMVs in one run. Decode is
// bandwidth: the figure that matters is GB/s of weight traffic (codes + group words), and tokens/s
// follows from it (bytes of one token's weights / GB/s). `--filter matmul.quant` times the
// quantized GEMMs (prefill, vision) with every qgemm candidate of the kernel policy as a runner-up,
// beside the float GEMM on an f32 weight of the same shape (the speed they should reach).
// check() recomputes a sample of outputs in float64 over the dequantized weight (core/quant's reference).
import type { Gpu } from '../../core/device.js';
import { Tensor } from '../../core/tensor.js';
import { dequantizeGroups, quantBytes, quantizeGroups, type QuantFormat } from '../../core/quant.js';
import { QuantTensor } from '../../ops/quant_linear.js';
import { linear, SplitWeight, uploadWeight, type Weight, type WeightPart } from '../../ops/linear.js';
import { readBack, type BenchCase, type PreparedCase } from '../case.js';
import { GEMV_MAX_ROWS } from '../../ops/policy.js';

const GROUP = 32;

/** Deterministic inputs in [-1, 1] (a hash of the index; no generator state to share). */
function inputs(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);
}

/** The first sampled output (rows 0 and M-1, four columns) off the float64 dot product with row n of the weight as the kernel sees it. */
function mismatch(got: Float32Array, xh: Float32Array, rowOf: (n: number) => Float32Array, M: number, N: number, K: number): string | undefined {
  for (const n of [0, 1, N >> 1, N - 1]) {
    const wr = rowOf(n);
    for (const m of [0, M - 1]) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xh[m * K + k]! * wr[k]!;
      if (!(Math.abs(got[m * N + n]! - acc) <= 2e-6 * K + 1e-5 * Math.abs(acc))) return `y[${m}, ${n}] = ${got[m * N + n]}, want ${acc}`;
    }
  }
  return undefined;
}

/** y = x·Wᵀ with W quantized (q8/q4, the policy's qgemv/qgemm) or, as the yardstick, plain f32 (the float GEMM). */
function linearCase(format: QuantFormat | 'f32', M: number, K: number, N: number): BenchCase {
  const gemv = M <= GEMV_MAX_ROWS;
  const q = format === 'f32' ? { codes: 4 * N * K, groups: 0 } : quantBytes(format, N, K, GROUP);
  return {
    name: format === 'f32' ? 'matmul.quant.float.wf32' : `${gemv ? 'gemv' : 'matmul.quant'}.w${format}`,
    ...(format === 'f32' ? {} : { policy: { op: gemv ? 'qgemv' : 'qgemm', cls: format } as const }),
    shape: `${M}×${K}×${N}`,
    flops: 2 * M * N * K,
    bytes: q.codes + q.groups + 4 * (M * K + M * N),
    bound: gemv ? 'memory' : 'compute-f32',
    prepare(gpu: Gpu): PreparedCase {
      const xh = inputs(M * K, 1), wh = inputs(N * K, 2);
      let w: Weight;
      let rowOf = (n: number) => wh.subarray(n * K, (n + 1) * K);
      if (format === 'f32') {
        w = uploadWeight(gpu, wh, [N, K], 'f32', 'w');
      } else {
        // Row chunks within one binding, as the loader makes them.
        const perPart = Math.floor(gpu.limits.maxStorageBufferBindingSize / (q.codes / N));
        const parts: WeightPart[] = [];
        for (let r = 0; r < N; r += perPart) {
          const n = Math.min(perPart, N - r);
          parts.push(QuantTensor.fromArray(gpu, wh.subarray(r * K, (r + n) * K), [n, K], format, GROUP, `w[${r}:]`));
        }
        w = parts.length === 1 ? parts[0]! : new SplitWeight(parts, [N, K], 'w');
        rowOf = (n) => { const qr = quantizeGroups(wh.subarray(n * K, (n + 1) * K), format, GROUP); return dequantizeGroups(qr.codes, qr.groups, K, format, GROUP); };
      }
      const x = Tensor.fromArray(gpu, xh, [M, K], 'f32', 'x');
      const run = () => linear(x, w);
      const read = () => readBack(run);
      return {
        run,
        check: async () => mismatch(await read(), xh, rowOf, M, N, K),
        dispose() { x.dispose(); w.dispose(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const format of ['q8', 'q4'] as const) {
    for (const [M, K, N] of [[1, 3584, 18944], [1, 18944, 3584]] as const) out.push(linearCase(format, M, K, N));
  }
  // SigLIP's fc1 over one image's 729 patches; a Qwen2-7B gate/up projection over a 128-token prompt.
  for (const [M, K, N] of [[729, 1152, 4304], [128, 3584, 18944]] as const) {
    out.push(linearCase('f32', M, K, N), linearCase('q8', M, K, N), linearCase('q4', M, K, N));
  }
  return out;
}
