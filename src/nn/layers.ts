// The small modules every stage is made of. Each binds its weights by checkpoint prefix
// (`prefix.weight`, `prefix.bias`), so a field's name is the checkpoint key.
import type { Tensor } from '../core/tensor.js';
import { gelu } from '../ops/activation.js';
import { linear, type Weight } from '../ops/linear.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import type { WeightSource } from './weights.js';

/** y = x·Wᵀ (+ b), W [out, in] as stored. */
export class Linear {
  readonly weight: Weight;
  readonly bias: Tensor | undefined;
  constructor(w: WeightSource, readonly prefix: string, readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    this.weight = w.takeWeight(`${prefix}.weight`, [outFeatures, inFeatures]);
    this.bias = bias ? w.take(`${prefix}.bias`, [outFeatures]) : undefined;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class LayerNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(w: WeightSource, readonly prefix: string, width: number, readonly eps: number) {
    this.weight = w.take(`${prefix}.weight`, [width]);
    this.bias = w.take(`${prefix}.bias`, [width]);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm {
  readonly weight: Tensor;
  constructor(w: WeightSource, readonly prefix: string, width: number, readonly eps: number) {
    this.weight = w.take(`${prefix}.weight`, [width]);
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** nn.Sequential(Linear, GELU, Linear): checkpoint children `.0` and `.2`. */
export class GeluMlp {
  readonly fc0: Linear;
  readonly fc2: Linear;
  constructor(w: WeightSource, prefix: string, inF: number, hidden: number, outF: number, readonly form: 'tanh' | 'erf') {
    this.fc0 = new Linear(w, `${prefix}.0`, inF, hidden);
    this.fc2 = new Linear(w, `${prefix}.2`, hidden, outF);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(gelu(this.fc0.forward(x), this.form));
  }
}
