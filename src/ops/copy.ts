// Moving rows around without compute: copies between tensors along the first dimension (buffer
// copies, no kernel), concatenation and slicing of rows.
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

/** dst[dstRow .. dstRow+rows) = src[srcRow .. srcRow+rows), rows of the trailing dimensions. */
export function copyRows(dst: Tensor, dstRow: number, src: Tensor, srcRow: number, rows: number): void {
  void dst; void dstRow; void src; void srcRow; void rows;
  notImplemented('copyRows');
}

export function sliceRows(x: Tensor, start: number, end: number): Tensor {
  void x; void start; void end;
  return notImplemented('sliceRows');
}

export function concatRows(parts: Tensor[]): Tensor {
  void parts;
  return notImplemented('concatRows');
}
