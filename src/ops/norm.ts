// LayerNorm (affine; eps 1e-6 SigLIP, 1e-5 packer) and RMSNorm (Qwen2) over the last dimension,
// statistics in f32 whatever the storage type.
// x [..., C], weight [C], bias [C] -> [..., C]
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  void x; void weight; void bias; void eps;
  return notImplemented('layerNorm');
}

/** Qwen2: x·rsqrt(mean(x²) + eps) in f32, cast to the storage type, then times weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  void x; void weight; void eps;
  return notImplemented('rmsNorm');
}
