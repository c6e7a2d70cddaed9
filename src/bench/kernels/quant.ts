// Benchmark cases for linear layers over q8/q4 weights (matmul_quant.wgsl), beside matmul.ts's
// f32/f16 ones on the same shapes: `bench kernels --filter gemv` times f16, q8 and q4 decode GEMVs in
// one run. Decode is bandwidth: the figure that matters is GB/s of weight traffic (codes + group
// words), and tokens/s follows from it (bytes of one token's weights / GB/s).
// check() recomputes a sample of outputs in float64 over the dequantized weight (core/quant's reference).
import type { Gpu } from '../../core/device.js';
import { Tensor } from '../../core/tensor.js';
import { dequantizeGroups, quantBytes, quantizeGroups, type QuantFormat } from '../../core/quant.js';
import { QuantTensor } from '../../ops/quant_linear.js';
import { linear, SplitWeight, type WeightPart } from '../../ops/linear.js';
import type { BenchCase, PreparedCase } from '../case.js';

const GROUP = 32;

/** Deterministic inputs in [-1, 1] (a hash of the index; no generator state to share). */
function inputs(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);
}

/** The first sampled output (rows 0 and M-1, four columns) off the float64 dot product with the dequantized rows. */
function mismatch(got: Float32Array, xh: Float32Array, wh: Float32Array, M: number, N: number, K: number, format: QuantFormat): string | undefined {
  for (const n of [0, 1, N >> 1, N - 1]) {
    const qr = quantizeGroups(wh.subarray(n * K, (n + 1) * K), format, GROUP);
    const wr = dequantizeGroups(qr.codes, qr.groups, K, format, GROUP);
    for (const m of [0, M - 1]) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xh[m * K + k]! * wr[k]!;
      if (!(Math.abs(got[m * N + n]! - acc) <= 2e-6 * K + 1e-5 * Math.abs(acc))) return `y[${m}, ${n}] = ${got[m * N + n]}, want ${acc}`;
    }
  }
  return undefined;
}

function quantCase(format: QuantFormat, M: number, K: number, N: number): BenchCase {
  const gemv = M <= 4;
  const q = quantBytes(format, N, K, GROUP);
  return {
    name: `${gemv ? 'gemv' : 'matmul.quant8x8'}.w${format}`,
    shape: `${M}×${K}×${N}`,
    flops: 2 * M * N * K,
    bytes: q.codes + q.groups + 4 * (M * K + M * N),
    bound: gemv ? 'memory' : 'compute-f32',
    prepare(gpu: Gpu): PreparedCase {
      const xh = inputs(M * K, 1), wh = inputs(N * K, 2);
      // Row chunks within one binding, as the loader makes them.
      const perPart = Math.floor(gpu.limits.maxStorageBufferBindingSize / (q.codes / N));
      const parts: WeightPart[] = [];
      for (let r = 0; r < N; r += perPart) {
        const n = Math.min(perPart, N - r);
        parts.push(QuantTensor.fromArray(gpu, wh.subarray(r * K, (r + n) * K), [n, K], format, GROUP, `w[${r}:]`));
      }
      const w = parts.length === 1 ? parts[0]! : new SplitWeight(parts, [N, K], 'w');
      const x = Tensor.fromArray(gpu, xh, [M, K], 'f32', 'x');
      const run = () => linear(x, w);
      const read = async () => { const y = run(); try { return (await y.toArray()) as Float32Array; } finally { y.dispose(); } };
      return {
        run,
        check: async () => mismatch(await read(), xh, wh, M, N, K, format),
        dispose() { x.dispose(); w.dispose(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const format of ['q8', 'q4'] as const) {
    for (const [M, K, N] of [[1, 3584, 18944], [1, 18944, 3584], [512, 3584, 3584]] as const) out.push(quantCase(format, M, K, N));
  }
  return out;
}
