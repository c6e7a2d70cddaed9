// Register-tiled fused attention (src/wgsl/attention_small.wgsl): same inputs, options and result
// as ops/attention.ts's attention().
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout; the first kvLength rows valid) -> [Lq, Hq, D].
//
// Shape: many query rows per KV head (vision, prefill): one invocation takes QR (query row, head)
// pairs, KB keys at a time, and the keys are not split, so a decode step (one row) leaves the
// adapter idle: use attention() there. Made for the demo model's head dims (16, 24), and with fewer
// rows an invocation for the real ones (SigLIP's 72, Qwen2's 128: 4-5x the fused kernel on lavapipe,
// README). Adapter: core WebGPU; f16 with an odd D needs shader-f16 (as attention()). The head-dim
// loops are unrolled, so compile time grows with D·QR·KB (lavapipe, cold shader cache, QR 2, KB 8:
// ~6 s at D = 72, ~18 s at D = 128; Mesa's disk cache keeps them, and ops/warmup.ts builds them
// while the weights load). Built for CPU adapters (lavapipe), where registers beat per-lane scratch
// memory; on GPUs ops/attention_flash.ts's tiles should win.
// With share = 8 (subgroups) the 8 lanes of a workgroup split each block's K/V loads and trade them
// by subgroupBroadcast: lavapipe's per-lane loads cost ~5× a broadcast.
import { DeviceError, ShapeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { attentionUniforms, checkAttention, type AttentionOptions } from './attention.js';
import { vecDefines, vecSpec } from './vector.js';

export interface SmallAttentionParams {
  /** (query row, head) pairs per invocation: each key and value vector loaded serves QR of them. */
  qr: number;
  /** Keys per block (a multiple of 4): one online-softmax rescale, and one read and write of each
   *  accumulator, per KB keys. */
  kb: number;
  /** Invocations per workgroup. */
  wg: number;
  /** Lanes that share each block's K/V loads through subgroupBroadcast (8: lane l loads every 8th
   *  key of the block; needs subgroups of at least 8 lanes and wg = 8), or 1 (each lane loads the
   *  whole block; default). */
  share?: 1 | 8;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

/** Runs on any adapter; lavapipe's default (the policy's small.qr8k8s8) adds share: 8. */
export const SMALL_ATTENTION_DEFAULT: SmallAttentionParams = { qr: 8, kb: 8, wg: 8 };

export function attentionSmall(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, prm: SmallAttentionParams = SMALL_ATTENTION_DEFAULT): Tensor {
  const pr = checkAttention('attentionSmall', q, k, v, opts);
  const { Lq, Hq, D, Hkv, dtype, kvLength } = pr;
  if (prm.kb % 4 !== 0 || prm.kb < 4) throw new ShapeError(`attentionSmall: keys per block ${prm.kb} is not a positive multiple of 4`);
  const share = prm.share ?? 1;
  if (share > 1) {
    if (!q.gpu.hasSubgroupsOf(share)) { // lanes 0..share-1 of one subgroup: not SwiftShader's subgroups of 4
      throw new DeviceError(`attentionSmall: sharing K/V loads across ${share} lanes needs the "subgroups" feature with subgroups of at least ${share} lanes; this device has ${q.gpu.hasSubgroups ? `subgroups of ${q.gpu.adapter.subgroupMinSize || 'unreported size'}` : 'none'}`);
    }
    if (prm.wg !== share || prm.kb % share !== 0) throw new ShapeError(`attentionSmall: sharing K/V loads across ${share} lanes needs wg = ${share} (one subgroup) and keys per block a multiple of ${share}; got wg ${prm.wg}, kb ${prm.kb}`);
  }
  const gpu = q.gpu;
  const o = Tensor.empty(gpu, [Lq, Hq, D], dtype, 'attentionSmall');
  if (o.size === 0) return o;
  const G = Hq / Hkv;
  const rows = Lq * G; // (query row, head-in-group) pairs per KV head
  const vs = vecSpec(dtype, D);
  const params = attentionUniforms(pr, opts.causal, { chunk: kvLength, nchunks: 1, NV: vs.NV });
  const spec = vecDefines(vs, { nv: true });
  const enables = [...(spec.enables ?? []), ...(share > 1 ? ['subgroups'] : [])];
  const defines = { ...spec.defines, QR: prm.qr, KB: prm.kb, SHARE: share, FROM_LANE: fromLane(share), W: D / vs.NV, COMP: vs.NV === D ? 'a' : 'a[e]' };
  gpu.kernels.get({ source: 'attention_small', defines, constants: { WG: prm.wg }, ...(enables.length ? { enables } : {}), ...(prm.variant ? { label: `attention_small ${prm.variant}` } : {}) })
    .dispatch([q.binding(), k.binding(), v.binding(), o.binding()], [Math.ceil(rows / (prm.wg * prm.qr)), 1, Hkv], params);
  return o;
}

/** The body of the kernel's from_lane(v, c): lane c's v by subgroupBroadcast (a switch, as its lane
 *  must be a constant), or v itself when lanes do not share. */
function fromLane(share: number): string {
  if (share === 1) return 'return v;';
  const cases = [...Array(share).keys()].map((c) => (c < share - 1 ? `case ${c}u` : 'default') + `: { return subgroupBroadcast(v, ${c}u); }`);
  return `switch c {\n    ${cases.join('\n    ')}\n  }`;
}
