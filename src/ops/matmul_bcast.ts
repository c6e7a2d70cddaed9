// Linear layers y = x·Wᵀ (+ b) with x shared between lanes by subgroupBroadcast
// (src/wgsl/matmul_bcast.wgsl). x [..., K] (leading dimensions flattened into M rows), W [N, K],
// b [N] -> y [..., N] (x's dtype).
//
// Shape class: large GEMMs (vision, prefill) with K a multiple of 4.
// Adapter: needs the `subgroups` feature with subgroups of at least 8 lanes (lavapipe: 8; not Mali's
// 4), and shader-f16 for an f16 y (as matmul_reg). Built for lavapipe, where a per-lane load costs
// ~5× a broadcast (bench kernels --filter loads.): each x load feeds 8 vec4s to every lane.
import { DeviceError, ShapeError } from '../core/errors.js';
import { type Tensor, shapeStr } from '../core/tensor.js';
import { dispatchParts, linearLoads, linearOp, type Float, type RegPart } from './matmul.js';

export interface BcastParams {
  /** Rows of y per workgroup (every lane shares them). */
  tm: number;
  /** Columns of y per lane (a workgroup covers wg·tn columns). tm·tn scalar sums live in registers. */
  tn: number;
  /** Invocations per workgroup (lanes over N); at least 8. */
  wg: number;
  /** The policy's name for these parameters (profile label). */
  variant?: string;
}

export const BCAST_DEFAULT: BcastParams = { tm: 8, tn: 4, wg: 8 };

function check(x: Tensor, prm: BcastParams): void {
  const K = x.shape[x.rank - 1] ?? 0;
  if (!x.gpu.hasSubgroupsOf(8)) throw new DeviceError(`matmulBcast needs subgroups of at least 8 lanes; this device's are ${x.gpu.hasSubgroups ? `as small as ${x.gpu.adapter.subgroupMinSize}` : 'absent'}`);
  if (K % 4 !== 0) throw new ShapeError(`matmulBcast: K = ${K} of x ${x.name} ${shapeStr(x.shape)} is not a multiple of 4 (x is read in vec4s)`);
  if (prm.wg < 8) throw new ShapeError(`matmulBcast: wg ${prm.wg} is under 8 (lanes 0..7 hold the x chunk)`);
}

/** Records y[:, part columns] = x·Wpartᵀ (+ bias slice) for each part (shapes checked by the caller). */
export function recordBcast(x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined, prm: BcastParams): void {
  check(x, prm);
  const { defines, enables } = linearLoads(x.gpu, x, parts[0]!.w.dtype as Float, y, bias, 4, parts[0]!.w.name);
  const kernel = x.gpu.kernels.get({
    source: 'matmul_bcast',
    defines: { TM: prm.tm, TN: prm.tn, WG: prm.wg, ...defines },
    enables: [...enables, 'subgroups'],
    ...(prm.variant ? { label: `matmul_bcast ${prm.variant}` } : {}),
  });
  dispatchParts('matmulBcast', kernel, x, parts, y, bias, 4, (N, M) => [Math.ceil(N / (prm.wg * prm.tn)), Math.ceil(M / prm.tm)]);
}

/** y = x·Wᵀ (+ b) with x broadcast across lanes: f32/f16 x, W and bias in any mix, f32 accumulation. */
export function matmulBcast(x: Tensor, w: Tensor, bias?: Tensor, prm: BcastParams = BCAST_DEFAULT): Tensor {
  check(x, prm);
  return linearOp('matmulBcast', x, w, bias, (x, parts, y, b) => recordBcast(x, parts, y, b, prm));
}
