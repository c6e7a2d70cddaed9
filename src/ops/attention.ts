// Fused attention (online softmax; no [L, L] score matrix in memory).
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout; the first kvLength rows are valid)
//   -> [Lq, Hq, D]. GQA: query head h reads KV head floor(h / (Hq / Hkv)).
//   causal: query row i sits at position qOffset + i and sees keys 0..qOffset+i.
// One query row (decode) takes its own path.
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export interface AttentionOptions {
  causal: boolean;
  /** Multiplies q·k; default 1/sqrt(D). */
  scale?: number;
  /** Valid key rows (default: k.shape[1]). */
  kvLength?: number;
  /** Position of the first query row (causal only; default kvLength − Lq). */
  qOffset?: number;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  void q; void k; void v; void opts;
  return notImplemented('attention');
}

/** [L, H, D] -> [H, L, D] (projections to the attention/KV-cache layout). */
export function transposeHeads(x: Tensor): Tensor {
  void x;
  return notImplemented('transposeHeads');
}

/** Writes new keys or values [L, Hkv, D] into a cache [Hkv, Lmax, D] at rows offset..offset+L. */
export function writeKV(cache: Tensor, x: Tensor, offset: number): void {
  void cache; void x; void offset;
  notImplemented('writeKV');
}
