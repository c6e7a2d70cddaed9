// Pointwise activations, computed in f32.
import type { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

/** GELU: 'tanh' approximation (SigLIP MLP) or exact 'erf' form (projector, packer MLPs). */
export function gelu(x: Tensor, form: 'tanh' | 'erf'): Tensor {
  void x; void form;
  return notImplemented('gelu');
}

/** SwiGLU's gate: silu(gate) ⊙ up (arXiv 2002.05202). gate, up [..., I] -> [..., I] */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  void gate; void up;
  return notImplemented('siluMul');
}
