// Row-wise softmax over the last dimension, stable for large magnitudes (max subtracted), f32 math.
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function softmax(x: Tensor): Tensor {
  void x;
  return notImplemented('softmax');
}
