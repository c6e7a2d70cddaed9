// Fused attention (online softmax; no [L, L] score matrix in memory).
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout; the first kvLength rows are valid)
//   -> [Lq, Hq, D]. GQA: query head h reads KV head floor(h / (Hq / Hkv)).
//   causal: query row i sits at position qOffset + i and sees keys 0..qOffset+i.
// One query row (decode) takes its own path.
//
// Kernels: wgsl/attention.wgsl (one invocation per (query row, head), K/V rows shared by the whole
// workgroup), split over key chunks when there are too few rows to fill the CPU threads (decode,
// short prompts), then wgsl/attention_combine.wgsl merges the chunks.
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import type { Gpu } from '../core/device.js';
import { vecDefines, vecSpec } from './vector.js';
import { CANDIDATES, classify, policyFor } from './policy.js';

export interface AttentionOptions {
  causal: boolean;
  /** Multiplies q·k; default 1/sqrt(D). */
  scale?: number;
  /** Valid key rows (default: k.shape[1]). */
  kvLength?: number;
  /** Position of the first query row (causal only; default kvLength − Lq). */
  qOffset?: number;
}

/** Parameters of the fused kernel (the policy's candidates, ops/policy.ts, set them per device). */
export interface AttentionParams {
  /** Most (query row, head) pairs a workgroup takes (rounded to the rows there are, multiples of 8). */
  wg: number;
  /** Split the keys until at least this many workgroups run. */
  minWorkgroups: number;
  /** Fewest keys per chunk. */
  minChunk: number;
  /** Variant name shown in profiles. */
  variant?: string;
}

/** Overrides of the chosen variant's parameters (tests and benchmarks reach the split paths with them). */
export type AttentionTuning = Partial<AttentionParams>;

/** A checked attention call: the tensors and every option resolved. */
export interface ResolvedAttention {
  q: Tensor; k: Tensor; v: Tensor;
  Lq: number; Hq: number; Hkv: number; D: number; Lmax: number;
  kvLength: number; qOffset: number; causal: boolean; scale: number; dtype: 'f32' | 'f16';
}

function floatDtype(op: string, ...ts: Tensor[]): 'f32' | 'f16' {
  const dt = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new DTypeError(`${op}: ${t.name} is ${t.dtype} (f32 or f16 needed)`);
    if (t.dtype !== dt) throw new DTypeError(`${op}: ${t.name} is ${t.dtype} but ${ts[0]!.name} is ${dt}`);
  }
  return dt as 'f32' | 'f16';
}

/** The problem an attention call describes, checked: sizes, dtype, valid keys, causal offset, scale. */
export interface AttentionProblem {
  Lq: number; Hq: number; D: number; Hkv: number; Lmax: number;
  dtype: 'f32' | 'f16'; kvLength: number; qOffset: number; scale: number;
}

/** Where the keys of a fused attention dispatch are split: chunk keys each, nchunks chunks (one
 *  chunk of kvLength keys when not split), and NV vectors a head-dim row. */
export interface AttentionSplit { chunk: number; nchunks: number; NV: number }

/**
 * The uniform block `Params` of the fused attention kernels (src/wgsl/include/attention_io.wgsl),
 * laid out in this one place for attention, attentionSmall and attentionFlash: 12 words.
 */
export function attentionUniforms(pr: AttentionProblem, causal: boolean, split: AttentionSplit): Uint8Array {
  const params = new ArrayBuffer(48);
  const G = pr.Hq / pr.Hkv;
  new Uint32Array(params).set([pr.Lq * G, G, pr.Hq, pr.Lmax, pr.kvLength, pr.qOffset, causal ? 1 : 0, 0, split.chunk, split.nchunks, split.NV, 0]);
  new Float32Array(params)[7] = pr.scale * Math.LOG2E; // scores in base 2: exp2 is cheaper than exp
  return new Uint8Array(params);
}

/** Checks q [Lq, Hq, D], k, v [Hkv, Lmax, D] and the options before any GPU work (attention and its variants). */
export function checkAttention(op: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionProblem {
  const shapes = `q ${q.name} ${shapeStr(q.shape)}, k ${k.name} ${shapeStr(k.shape)}, v ${v.name} ${shapeStr(v.shape)}`;
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) throw new ShapeError(`${op}: need q [Lq, Hq, D] and k, v [Hkv, Lmax, D]; got ${shapes}`);
  const [Lq, Hq, D] = q.shape as [number, number, number];
  const [Hkv, Lmax, Dk] = k.shape as [number, number, number];
  if (Dk !== D || v.shape[0] !== Hkv || v.shape[1] !== Lmax || v.shape[2] !== D) throw new ShapeError(`${op}: head dims or K/V shapes disagree: ${shapes}`);
  if (Hkv === 0 || Hq % Hkv !== 0) throw new ShapeError(`${op}: ${Hq} query heads are not a multiple of ${Hkv} KV heads: ${shapes}`);
  const dtype = floatDtype(op, q, k, v);
  const kvLength = opts.kvLength ?? Lmax;
  if (!Number.isInteger(kvLength) || kvLength < 1 || kvLength > Lmax) throw new ShapeError(`${op}: kvLength ${kvLength} outside 1..${Lmax} (the cache rows of ${shapes})`);
  const qOffset = opts.causal ? (opts.qOffset ?? kvLength - Lq) : 0;
  if (opts.causal && (!Number.isInteger(qOffset) || qOffset < 0 || qOffset + Lq > kvLength)) {
    throw new ShapeError(`${op}: causal query positions ${qOffset}..${qOffset + Lq - 1} need keys beyond kvLength ${kvLength} (${shapes})`);
  }
  return { Lq, Hq, D, Hkv, Lmax, dtype, kvLength, qOffset, scale: opts.scale ?? 1 / Math.sqrt(D) };
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, tuning: AttentionTuning = {}): Tensor {
  const { Lq, Hq, D, Hkv, Lmax, dtype, kvLength, qOffset, scale } = checkAttention('attention', q, k, v, opts);
  const call: ResolvedAttention = { q, k, v, Lq, Hq, Hkv, D, Lmax, kvLength, qOffset, causal: opts.causal, scale, dtype };
  const policy = policyFor(q.gpu);
  if (Object.keys(tuning).length === 0) return policy.run('attention', call);
  // Tuning reaches the fused kernel's split paths: from the chosen variant if it is that kernel, else its first.
  const chosen = policy.choose('attention', classify.attention(call)).candidate;
  const base = chosen.run === fusedAttention ? chosen : CANDIDATES.attention.find((c) => c.run === fusedAttention)!;
  return fusedAttention(call, { ...(base.params as AttentionParams), ...tuning });
}

/** The fused kernel with explicit parameters: one invocation per (query row, head), keys split in
 *  chunks (then merged) when the row blocks alone leave workgroups idle. */
export function fusedAttention(c: ResolvedAttention, p: AttentionParams): Tensor {
  const { q, k, v, Lq, Hq, Hkv, D, kvLength, dtype } = c;
  const gpu = q.gpu;
  const o = Tensor.empty(gpu, [Lq, Hq, D], dtype, 'attention');
  if (o.size === 0) return o;

  const G = Hq / Hkv;
  const rows = Lq * G; // (query row, head-in-group) pairs per KV head
  const WG = Math.min(p.wg, Math.ceil(rows / 8) * 8);
  const rowBlocks = Math.ceil(rows / WG);
  // Split the keys only when the row blocks alone leave CPU threads idle (decode: rows = G).
  const minWg = p.minWorkgroups, minChunk = p.minChunk;
  let nchunks = Math.max(1, Math.min(Math.ceil(minWg / (rowBlocks * Hkv)), Math.floor(kvLength / minChunk)));
  const chunk = nchunks === 1 ? kvLength : Math.ceil(kvLength / nchunks / 4) * 4;
  nchunks = Math.ceil(kvLength / chunk);

  const vs = vecSpec(dtype, D);
  const params = attentionUniforms(c, c.causal, { chunk, nchunks, NV: vs.NV });
  const label = p.variant ? ` ${p.variant}` : '';
  const spec = { source: 'attention', ...vecDefines(vs, { nv: true }), constants: { WG }, ...(label ? { label: `attention${label}` } : {}) };
  const grid = [rowBlocks, nchunks, Hkv] as const;
  if (nchunks === 1) {
    gpu.kernels.get(spec).dispatch([q.binding(), k.binding(), v.binding(), o.binding()], grid, params);
    return o;
  }
  // Split path: partials [nchunks, Hkv, rows, D] f32 and (m, l) [nchunks, Hkv, rows], then merged.
  const acc = Tensor.empty(gpu, [nchunks, Hkv, rows, D], 'f32', 'attention.part_acc');
  const ml = Tensor.empty(gpu, [nchunks, Hkv, rows, 2], 'f32', 'attention.part_ml');
  try {
    gpu.kernels.get({ ...spec, entryPoint: 'main_split', ...(label ? { label: `attention.main_split${label}` } : {}) })
      .dispatch([q.binding(), k.binding(), v.binding(), acc.binding(), ml.binding()], grid, params);
    const total = Hkv * rows * vs.NV;
    gpu.kernels.get({ source: 'attention_combine', ...vecDefines(vs), constants: { WG: 64 } })
      .dispatch([acc.binding(), ml.binding(), o.binding()], Math.ceil(total / 64),
        new Uint32Array([total, rows, G, Hq, vs.NV, nchunks, Hkv * rows, 0]));
  } finally {
    acc.dispose();
    ml.dispose();
  }
  return o;
}

/** dst[h, off + l, :] = src[l, h, :] for src [L, H, D], dst [H, Ldst, D]. */
function relayout(gpu: Gpu, src: Tensor, dst: Tensor, off: number): void {
  const [L, H, D] = src.shape as [number, number, number];
  if (src.size === 0) return;
  const { ST, NV, enables } = vecSpec(src.dtype as 'f32' | 'f16', D);
  const total = L * H * NV;
  gpu.kernels.get({ source: 'transpose_heads', defines: { ST }, constants: { WG: 256 }, ...(enables.length ? { enables } : {}) })
    .dispatch([src.binding(), dst.binding()], Math.ceil(total / 256), new Uint32Array([total, H, NV, dst.shape[1]!, off, 0, 0, 0]));
}

/** [L, H, D] -> [H, L, D] (projections to the attention/KV-cache layout). */
export function transposeHeads(x: Tensor): Tensor {
  if (x.rank !== 3) throw new ShapeError(`transposeHeads: ${x.name} ${shapeStr(x.shape)} is not [L, H, D]`);
  floatDtype('transposeHeads', x);
  const [L, H, D] = x.shape as [number, number, number];
  const y = Tensor.empty(x.gpu, [H, L, D], x.dtype, 'transposeHeads');
  relayout(x.gpu, x, y, 0);
  return y;
}

/** Writes new keys or values [L, Hkv, D] into a cache [Hkv, Lmax, D] at rows offset..offset+L. */
export function writeKV(cache: Tensor, x: Tensor, offset: number): void {
  const shapes = `cache ${cache.name} ${shapeStr(cache.shape)}, x ${x.name} ${shapeStr(x.shape)}`;
  if (cache.rank !== 3 || x.rank !== 3 || cache.shape[0] !== x.shape[1] || cache.shape[2] !== x.shape[2]) {
    throw new ShapeError(`writeKV: need cache [Hkv, Lmax, D] and x [L, Hkv, D]; got ${shapes}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + x.shape[0]! > cache.shape[1]!) {
    throw new ShapeError(`writeKV: rows ${offset}..${offset + x.shape[0]! - 1} are outside the cache's ${cache.shape[1]} rows (${shapes})`);
  }
  floatDtype('writeKV', cache, x);
  relayout(x.gpu, x, cache, offset);
}
