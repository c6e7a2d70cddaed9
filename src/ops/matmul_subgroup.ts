// Linear layers y = x·Wᵀ (+ b) with both operands shared between the 8 lanes of a subgroup by
// subgroupBroadcast (src/wgsl/matmul_subgroup.wgsl). x [..., K] (leading dimensions flattened into
// M rows), W [N, K], b [N] -> y [..., N] (x's dtype).
//
// Shape class: any M > GEMV_MAX_ROWS and any K (vectors of 4, 2 or 1 k-values, what divides K).
// Adapter: needs the `subgroups` feature with subgroups of at least 8 lanes (lavapipe: 8; not Mali's
// 4); f16 x or W with an odd K, or an f16 y, need shader-f16 (as matmul_reg). Built for lavapipe,
// where a per-lane load costs ~5× a broadcast: per step a lane makes TM + TN/8 loads for TM·TN
// vector FMAs (matmul_rows: TM + TN).
import { DeviceError, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { dispatchParts, linearLoads, linearOp, type Float, type RegPart } from './matmul.js';

export interface SubgroupParams {
  /** Rows of y per lane (a workgroup covers 8·tm rows). */
  tm: number;
  /** Columns of y per lane and per workgroup, a multiple of 8 (each lane loads tn / 8 W rows a step). */
  tn: number;
  /** k-values per load: 4, 2 or 1 (narrowed to what divides K). */
  vec: number;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

/** Lanes a workgroup: one subgroup, so the device's subgroups must have at least this many. */
export const SUBGROUP_LANES = 8;
const SG = SUBGROUP_LANES;

function check(x: Tensor, prm: SubgroupParams): void {
  if (!x.gpu.hasSubgroupsOf(SG)) throw new DeviceError(`matmulSubgroup needs the "subgroups" feature with subgroups of at least ${SG} lanes; this device has ${x.gpu.hasSubgroups ? `subgroups of ${x.gpu.adapter.subgroupMinSize}` : 'none'}`);
  if (prm.tn % SG !== 0 || prm.tn <= 0 || prm.tm <= 0) throw new ShapeError(`matmulSubgroup: tile ${prm.tm}×${prm.tn} needs tm >= 1 and tn a positive multiple of ${SG}`);
}

/** Records y[:, part columns] = x·Wpartᵀ (+ bias slice) for each part (shapes checked by the caller). */
export function recordSubgroup(x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined, prm: SubgroupParams): void {
  check(x, prm);
  const { vec, defines, enables } = linearLoads(x.gpu, x, parts[0]!.w.dtype as Float, y, bias, prm.vec, parts[0]!.w.name);
  const kernel = x.gpu.kernels.get({
    source: 'matmul_subgroup',
    defines: { TM: prm.tm, TN: prm.tn, DOT: vec === 1 ? 'a * b' : 'dot(a, b)', ...defines },
    enables: [...enables, 'subgroups'],
    ...(prm.variant ? { label: `matmul_subgroup ${prm.variant}` } : {}),
  });
  dispatchParts('matmulSubgroup', kernel, x, parts, y, bias, vec, (N, M) => [Math.ceil(N / prm.tn), Math.ceil(M / (SG * prm.tm))]);
}

/** y = x·Wᵀ (+ b) with x and W shared across a subgroup: f32/f16 x, W and bias in any mix, f32 accumulation. */
export function matmulSubgroup(x: Tensor, w: Tensor, bias?: Tensor, prm: SubgroupParams = { tm: 4, tn: 8, vec: 4 }): Tensor {
  check(x, prm);
  return linearOp('matmulSubgroup', x, w, bias, (x, parts, y, b) => recordSubgroup(x, parts, y, b, prm));
}
