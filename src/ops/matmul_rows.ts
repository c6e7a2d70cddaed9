// Linear layers with small K: y = x·Wᵀ (+ b), lanes over the rows of x (src/wgsl/matmul_rows.wgsl).
// x [..., K] (leading dimensions flattened into M rows), W [N, K], b [N] -> y [..., N] (x's dtype).
//
// Shape class: many rows and a small K (the demo model: K = 32, 48, 64, 128; N = 24..128), where
// matmul_reg's lanes over K leave each lane a few steps before a cross-lane reduction. Each
// invocation owns a TM×TN block of y over the whole of K: no reduction, no workgroup memory, no
// barrier. Any K works; it pays off while K is too short to amortize matmul_reg's reduction.
// Adapter: core WebGPU only; f16 x or W with an odd K, or an f16 y, need shader-f16 (as matmul_reg).
// Meant for CPU adapters (lavapipe: a workgroup is one thread's SIMD lanes, so nothing is gained
// from lanes sharing loads); on GPUs a shared-memory tiled kernel should beat it.
//
// Note (Dawn + lavapipe, reproduced while writing this kernel): a `var` declared without an
// initializer inside a loop body kept its value from the previous iteration instead of being
// zeroed; the kernel initializes its accumulators explicitly.
import type { Tensor } from '../core/tensor.js';
import { dispatchParts, linearLoads, linearOp, type Float, type RegPart } from './matmul.js';

export interface RowsParams {
  /** Rows of y per invocation. */
  tm: number;
  /** Columns of y per invocation (and per workgroup). tm·tn scalar sums live in registers. */
  tn: number;
  /** Invocations per workgroup, stacked over rows. 8 = lavapipe's SIMD width. */
  wg: number;
  /** k-values per load: 4, 2 or 1 (narrowed to what divides K). */
  vec: number;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

/** Measured on lavapipe (bench kernels: matmul.rows beside matmul.reg on the demo's shapes). */
export const ROWS_DEFAULT: RowsParams = { tm: 4, tn: 8, wg: 8, vec: 4 };

/** Records y[:, part columns] = x·Wpartᵀ (+ bias slice) for each part (shapes checked by the caller). */
export function recordRows(x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined, prm: RowsParams): void {
  const { vec, defines, enables } = linearLoads(x.gpu, x, parts[0]!.w.dtype as Float, y, bias, prm.vec, parts[0]!.w.name);
  const kernel = x.gpu.kernels.get({
    source: 'matmul_rows',
    defines: { TM: prm.tm, TN: prm.tn, WG: prm.wg, DOT: vec === 1 ? 'a * b' : 'dot(a, b)', ...defines },
    ...(enables.length ? { enables } : {}),
    ...(prm.variant ? { label: `matmul_rows ${prm.variant}` } : {}),
  });
  dispatchParts('matmulRows', kernel, x, parts, y, bias, vec, (N, M) => [Math.ceil(N / prm.tn), Math.ceil(M / (prm.tm * prm.wg))]);
}

/** y = x·Wᵀ (+ b), lanes over rows: f32/f16 x, W and bias in any mix, f32 accumulation, y in x's dtype. */
export function matmulRows(x: Tensor, w: Tensor, bias?: Tensor, prm: RowsParams = ROWS_DEFAULT): Tensor {
  return linearOp('matmulRows', x, w, bias, (x, parts, y, b) => recordRows(x, parts, y, b, prm));
}
