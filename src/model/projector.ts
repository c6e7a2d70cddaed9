// Multimodal projector, mlp2x_gelu (architecture.md §4): Linear(Dv→D), exact erf GELU
// (PyTorch nn.GELU() default), Linear(D→D), per token, before LAPE and the packer.
//
// Shapes: N tokens, Dv SigLIP width, D LLM width.
import type { Tensor } from '../core/tensor.js';
import { GeluMlp } from '../nn/layers.js';
import type { WeightSource } from '../nn/weights.js';

export class Projector {
  readonly mm_projector: GeluMlp;
  constructor(w: WeightSource, visionWidth: number, width: number) {
    this.mm_projector = new GeluMlp(w, 'model.mm_projector', visionWidth, width, width, 'erf');
  }

  /** [N, Dv] -> [N, D] */
  forward(x: Tensor): Tensor {
    return this.mm_projector.forward(x);
  }
}
