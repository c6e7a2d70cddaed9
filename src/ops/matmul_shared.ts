// Linear layers on GPUs: y = x·Wᵀ (+ b) with workgroup-memory tiles and 2-D register tiles
// (src/wgsl/matmul_shared.wgsl). x [..., K] (leading dimensions flattened into M rows), W [N, K],
// b [N] -> y [..., N] (x's dtype).
//
// Shape class: every GEMM on a GPU (the default of the discrete and integrated adapter classes).
// Adapter: core WebGPU; the workgroup size and the tiles' workgroup memory are checked against the
// device's own limits (sharedFits), never assumed. f16 x or W is read as packed u32 pairs where K is
// even (no shader-f16 needed), as in matmul_reg. On lavapipe it is correct but slow: a workgroup is
// one CPU thread, so its 64-256 invocations run one after another and workgroup memory is plain
// memory; the software class keeps matmul_reg / matmul_rows.
import type { Gpu } from '../core/device.js';
import { InputError, LimitError } from '../core/errors.js';
import { type Tensor, shapeStr } from '../core/tensor.js';
import { linearLoads, linearOp, type Float, type RegPart } from './matmul.js';

export interface SharedParams {
  /** Rows and columns of y per invocation (multiples of 4). */
  tm: number;
  tn: number;
  /** Invocations along n and along m: the workgroup is wx·wy invocations over a (wy·tm)×(wx·tn) block. */
  wx: number;
  wy: number;
  /** k-values per workgroup-memory tile (a multiple of 4). */
  bk: number;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

/** Bytes of workgroup memory the tiles take: BM + BN rows of BK f32 and one vec4 of padding. */
export const sharedBytes = (p: SharedParams): number => 16 * (p.bk / 4 + 1) * (p.wy * p.tm + p.wx * p.tn);

/** Whether this device can run the configuration (its invocation and workgroup-memory limits). */
export function sharedFits(gpu: Gpu, p: SharedParams): boolean {
  const l = gpu.limits;
  return p.wx * p.wy <= l.maxComputeInvocationsPerWorkgroup && p.wx * p.wy <= l.maxComputeWorkgroupSizeX
    && sharedBytes(p) <= l.maxComputeWorkgroupStorageSize;
}

function check(gpu: Gpu, p: SharedParams): void {
  if (p.tm % 4 || p.tn % 4 || p.bk % 4 || p.tm <= 0 || p.tn <= 0 || p.bk <= 0) throw new InputError(`matmulShared: tm ${p.tm}, tn ${p.tn} and bk ${p.bk} must be positive multiples of 4`);
  if (!sharedFits(gpu, p)) {
    throw new LimitError(`matmulShared: ${p.wx}×${p.wy} invocations and ${sharedBytes(p)} bytes of workgroup memory exceed this device's limits `
      + `(${gpu.limits.maxComputeInvocationsPerWorkgroup} invocations, ${gpu.limits.maxComputeWorkgroupStorageSize} bytes)`);
  }
}

/** WGSL building a vec4 of k-values 4q..4q+3 of row r from loads of `vec` k-values (`load`(r, kv)). */
function quad(load: string, vec: number): string {
  const parts = Array.from({ length: 4 / vec }, (_, e) => `${load}(r, ${4 / vec}u * q + ${e}u)`);
  return vec === 4 ? parts[0]! : `vec4<f32>(${parts.join(', ')})`;
}

/** Records y[:, part columns] = x·Wpartᵀ (+ bias slice) for each part (shapes checked by the caller). */
export function recordShared(x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined, prm: SharedParams): void {
  const gpu = x.gpu;
  check(gpu, prm);
  const K = x.shape[x.rank - 1]!;
  const M = x.size / K;
  const ldy = y.shape[y.rank - 1]!;
  const { vec, defines, enables } = linearLoads(gpu, x, parts[0]!.w.dtype as Float, y, bias, 4, parts[0]!.w.name);
  const kernel = gpu.kernels.get({
    source: 'matmul_shared',
    defines: { TM: prm.tm, TN: prm.tn, WX: prm.wx, WY: prm.wy, BK: prm.bk, V: vec, QUAD_X: quad('kx', vec), QUAD_W: quad('kw', vec), ...defines },
    ...(enables.length ? { enables } : {}),
    ...(prm.variant ? { label: `matmul_shared ${prm.variant}` } : {}),
  });
  const maxWg = gpu.limits.maxComputeWorkgroupsPerDimension;
  const bm = prm.wy * prm.tm, bn = prm.wx * prm.tn;
  for (const part of parts) {
    const N = part.w.shape[0]!;
    if (N === 0 || M === 0) continue;
    const gx = Math.ceil(N / bn), gy = Math.ceil(M / bm);
    if (gx > maxWg || gy > maxWg) throw new LimitError(`matmulShared: ${gx}×${gy} workgroups for x ${shapeStr(x.shape)}·${part.w.name}ᵀ exceed maxComputeWorkgroupsPerDimension ${maxWg}`);
    kernel.dispatch([x.binding(), part.w.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], [gx, gy],
      new Uint32Array([M, N, K / vec, ldy, part.ycol0, part.bcol0, 0, 0]));
  }
}

/** 64×64 blocks, 8×8 outputs per invocation, 64 invocations: the GPU default (ops/policy.ts). */
export const SHARED_DEFAULT: SharedParams = { tm: 8, tn: 8, wx: 8, wy: 8, bk: 16 };

/** y = x·Wᵀ (+ b) through workgroup-memory tiles: f32/f16 x, W and bias in any mix, f32 accumulation. */
export function matmulShared(x: Tensor, w: Tensor, bias?: Tensor, prm: SharedParams = SHARED_DEFAULT): Tensor {
  check(x.gpu, prm);
  return linearOp('matmulShared', x, w, bias, (x, parts, y, b) => recordShared(x, parts, y, b, prm));
}
