// Rotary position embedding, rotate-half layout (Qwen2): for i < D/2,
// y_i = x_i·cos − x_{i+D/2}·sin, y_{i+D/2} = x_{i+D/2}·cos + x_i·sin, angle = pos·θ^(−2i/D) in f32.
// x [L, H, D], position of row l = offset + l -> [L, H, D]
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function rope(x: Tensor, opts: { offset: number; theta: number }): Tensor {
  void x; void opts;
  return notImplemented('rope');
}
