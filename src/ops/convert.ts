// Dtype conversions on the GPU: f32 <-> f16, and bf16 (raw 16-bit words, two per u32) -> f32,
// which is a shift since bf16 is the top half of an f32.
import type { Tensor, Shape } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function convert(x: Tensor, dtype: 'f32' | 'f16'): Tensor {
  void x; void dtype;
  return notImplemented('convert');
}

/** raw: u32 tensor holding ceil(n/2) words of packed bf16 (little-endian) -> f32 tensor of `shape`. */
export function bf16ToF32(raw: Tensor, shape: Shape): Tensor {
  void raw; void shape;
  return notImplemented('bf16ToF32');
}

/** raw packed bf16 as above -> f16 tensor of `shape` (rounded to nearest even). */
export function bf16ToF16(raw: Tensor, shape: Shape): Tensor {
  void raw; void shape;
  return notImplemented('bf16ToF16');
}
