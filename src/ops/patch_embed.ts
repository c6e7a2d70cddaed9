// SigLIP patch embedding: conv P×P stride P, valid padding (trailing pixels unused), 3 -> C.
//   pixels [T, 3, S, S], weight [C, 3, P, P], bias [C] -> [T, G·G, C], G = floor(S / P), row-major patches
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function patchEmbed(pixels: Tensor, weight: Tensor, bias: Tensor, patch: number): Tensor {
  void pixels; void weight; void bias; void patch;
  return notImplemented('patchEmbed');
}
