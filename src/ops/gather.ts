// Row gathers: embedding lookup by token id (tables may exceed one binding: 151960×3584 f32 is
// 2 GiB, so a SplitWeight table is gathered part by part), and row gathers by index.
import type { Tensor } from '../core/tensor.js';
import type { Weight } from './linear.js';
import { notImplemented } from './todo.js';

/** table [V, C] (Tensor or SplitWeight), ids i32 [L] -> [L, C] in `dtype` (default: the table's). */
export function embedding(table: Weight, ids: Tensor, dtype?: 'f32' | 'f16'): Tensor {
  void table; void ids; void dtype;
  return notImplemented('embedding');
}

/** src [N, C], index u32 [M] -> [M, C] */
export function gatherRows(src: Tensor, index: Tensor): Tensor {
  void src; void index;
  return notImplemented('gatherRows');
}

/** Per output row r: (1 − w[r])·table[i0[r]] + w[r]·table[i1[r]] (LAPE resampling, coordinate
 *  placeholder injection). table [V, C] -> [R, C]; products and sum in f32. */
export function lerpRows(table: Tensor, i0: readonly number[], i1: readonly number[], w: readonly number[]): Tensor {
  void table; void i0; void i1; void w;
  return notImplemented('lerpRows');
}
