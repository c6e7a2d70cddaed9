// Argmax over the last dimension (e.g. a 151960-wide logits row); ties go to the lowest index,
// as torch.argmax does. x [..., N] -> u32 [...]
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function argmax(x: Tensor): Tensor {
  void x;
  return notImplemented('argmax');
}
