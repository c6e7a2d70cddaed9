// Point-to-region attention of the Spatial-Temporal Packer (architecture.md §6.1): query n attends
// only to its own R region keys (R = 9 spatial 3×3, or 5 temporal), never a full attention.
//   q [Nq, E]; k, v [Nk, E]; index u32 [Nq, R] (row of k/v for region slot r of query n);
//   heads H (E = H·d); softmax(q_h·k_hᵀ · scale) over the R keys -> [Nq, E]
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function regionAttention(q: Tensor, k: Tensor, v: Tensor, index: Tensor, heads: number, scale?: number): Tensor {
  void q; void k; void v; void index; void heads; void scale;
  return notImplemented('regionAttention');
}
