// Fused attention for GPUs (src/wgsl/attention_flash.wgsl): same inputs, options and result as
// ops/attention.ts's attention().
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout; the first kvLength rows valid) -> [Lq, Hq, D].
//
// Shape class: many query rows per KV head (vision, prefill) at any head dim, built for the real
// model's 72 and 128: a block of BQ (query row, head) pairs shares each tile of BK keys and values
// staged in workgroup memory, TPQ invocations a pair split the head dim (registers stay few at
// D = 128). Keys are not split, so a decode step (one row) leaves a GPU idle: use attention() there.
// Adapter: core WebGPU (workgroup memory, barriers); f16 with an odd D needs shader-f16. On lavapipe
// it is correct but slow (a barrier per tile phase, workgroup memory is plain memory): the software
// class keeps the register kernels (ops/attention.ts, ops/attention_small.ts).
import { LimitError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { Gpu } from '../core/device.js';
import { attentionUniforms, checkAttention, type AttentionOptions } from './attention.js';
import { vecDefines, vecSpec } from './vector.js';

export interface FlashAttentionParams {
  /** (query row, head) pairs a workgroup takes: each staged K/V tile serves BQ of them. */
  bq: number;
  /** Invocations per pair (each owns 1/TPQ of the head dim); the workgroup has bq·tpq invocations. */
  tpq: number;
  /** Most keys per tile (fewer when the adapter's workgroup memory is small). */
  bk: number;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

/** Keys per tile: the most (a power of two, at most p.bk) whose K, V and partial-dot tiles fit in
 *  the adapter's workgroup memory (16 KiB guaranteed by WebGPU: D = 128 with 128 invocations gets 8). */
export function flashTileKeys(gpu: Gpu, D: number, p: FlashAttentionParams): number {
  const bytes = (bk: number) => 4 * (2 * bk * D + p.bq * p.tpq * bk);
  let bk = p.bk;
  while (bk > 1 && bytes(bk) > gpu.limits.maxComputeWorkgroupStorageSize) bk >>= 1;
  if (bytes(bk) > gpu.limits.maxComputeWorkgroupStorageSize || p.bq * p.tpq > gpu.limits.maxComputeInvocationsPerWorkgroup) {
    throw new LimitError(`attentionFlash: head dim ${D} with ${p.bq}×${p.tpq} invocations does not fit this adapter's workgroup (${gpu.limits.maxComputeWorkgroupStorageSize} B, ${gpu.limits.maxComputeInvocationsPerWorkgroup} invocations)`);
  }
  return bk;
}

export function attentionFlash(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, prm: FlashAttentionParams): Tensor {
  const pr = checkAttention('attentionFlash', q, k, v, opts);
  const { Lq, Hq, D, Hkv, dtype, kvLength } = pr;
  const gpu = q.gpu;
  const bk = flashTileKeys(gpu, D, prm);
  const o = Tensor.empty(gpu, [Lq, Hq, D], dtype, 'attentionFlash');
  if (o.size === 0) return o;
  const rows = Lq * (Hq / Hkv); // (query row, head-in-group) pairs per KV head
  const vs = vecSpec(dtype, D);
  const params = attentionUniforms(pr, opts.causal, { chunk: kvLength, nchunks: 1, NV: vs.NV });
  const spec = vecDefines(vs, { nv: true });
  gpu.kernels.get({ source: 'attention_flash', defines: { ...spec.defines, BQ: prm.bq, TPQ: prm.tpq, BK: bk }, ...(spec.enables ? { enables: spec.enables } : {}), ...(prm.variant ? { label: `attention_flash ${prm.variant}` } : {}) })
    .dispatch([q.binding(), k.binding(), v.binding(), o.binding()], [Math.ceil(rows / prm.bq), 1, Hkv], params);
  return o;
}
