// SigLIP so400m-patch14-384 vision tower, truncated (architecture.md §2): patch conv + learned
// position embedding, then pre-LN transformer layers (tanh-GELU MLP). The checkpoint holds the
// layers that run (the released code deleted the last one); the output is the last layer's,
// before post_layernorm (stored, unused, never loaded). No attention mask: each frame is its own
// sequence, so frames go through one at a time (bounded memory for 100 frames).
//
// Shapes: T frames, S image side, P patch, G = floor(S/P) grid, N = G² tokens, Dv width,
//         H heads, hd = Dv/H, M MLP width.
import { scope } from '../core/registry.js';
import type { Tensor } from '../core/tensor.js';
import { attention, transposeHeads } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import { patchEmbed } from '../ops/patch_embed.js';
import { LayerNorm, Linear } from '../nn/layers.js';
import { gelu } from '../ops/activation.js';
import type { Taps } from '../nn/taps.js';
import type { WeightSource } from '../nn/weights.js';
import type { VisionConfig } from './config.js';

const PREFIX = 'model.vision_tower.vision_tower.vision_model';

class SiglipAttention {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  constructor(w: WeightSource, prefix: string, readonly dim: number, readonly heads: number) {
    this.q_proj = new Linear(w, `${prefix}.q_proj`, dim, dim);
    this.k_proj = new Linear(w, `${prefix}.k_proj`, dim, dim);
    this.v_proj = new Linear(w, `${prefix}.v_proj`, dim, dim);
    this.out_proj = new Linear(w, `${prefix}.out_proj`, dim, dim);
  }

  /** x [N, Dv] -> [N, Dv]; scale hd^-0.5. */
  forward(x: Tensor): Tensor {
    const N = x.shape[0]!, hd = this.dim / this.heads;
    const q = this.q_proj.forward(x).reshape([N, this.heads, hd]);                      // [N, H, hd]
    const k = transposeHeads(this.k_proj.forward(x).reshape([N, this.heads, hd]));      // [H, N, hd]
    const v = transposeHeads(this.v_proj.forward(x).reshape([N, this.heads, hd]));
    const o = attention(q, k, v, { causal: false, scale: hd ** -0.5 });                // [N, H, hd]
    return this.out_proj.forward(o.reshape([N, this.dim]));
  }
}

class SiglipEncoderLayer {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: SiglipAttention;
  readonly layer_norm2: LayerNorm;
  readonly mlp: { fc1: Linear; fc2: Linear };
  constructor(w: WeightSource, prefix: string, cfg: VisionConfig) {
    const D = cfg.hidden_size;
    this.layer_norm1 = new LayerNorm(w, `${prefix}.layer_norm1`, D, cfg.layer_norm_eps);
    this.self_attn = new SiglipAttention(w, `${prefix}.self_attn`, D, cfg.num_attention_heads);
    this.layer_norm2 = new LayerNorm(w, `${prefix}.layer_norm2`, D, cfg.layer_norm_eps);
    this.mlp = {
      fc1: new Linear(w, `${prefix}.mlp.fc1`, D, cfg.intermediate_size),
      fc2: new Linear(w, `${prefix}.mlp.fc2`, cfg.intermediate_size, D),
    };
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const a = add(x, this.self_attn.forward(this.layer_norm1.forward(x)));
      const h = this.mlp.fc1.forward(this.layer_norm2.forward(a));
      return add(a, this.mlp.fc2.forward(gelu(h, 'tanh')));
    });
  }
}

export class SiglipVisionTower {
  readonly patch_embedding: { weight: Tensor; bias: Tensor };
  readonly position_embedding: Tensor;
  readonly layers: SiglipEncoderLayer[] = [];

  constructor(w: WeightSource, readonly cfg: VisionConfig) {
    const { hidden_size: D, patch_size: P, num_channels: C, grid: G } = cfg;
    this.patch_embedding = {
      weight: w.take(`${PREFIX}.embeddings.patch_embedding.weight`, [D, C, P, P]),
      bias: w.take(`${PREFIX}.embeddings.patch_embedding.bias`, [D]),
    };
    this.position_embedding = w.take(`${PREFIX}.embeddings.position_embedding.weight`, [G * G, D]);
    for (let i = 0; i < cfg.layers; i++) this.layers.push(new SiglipEncoderLayer(w, `${PREFIX}.encoder.layers.${i}`, cfg));
  }

  /**
   * One frame: pixels [1, C, S, S] -> features [N, Dv]. Taps: vision.embeddings, vision.layers.{i},
   * each [1, N, Dv] per frame (a video's captures concatenate to [T, N, Dv]).
   */
  forwardFrame(pixels: Tensor, taps?: Taps): Tensor {
    return scope(() => {
      const N = this.cfg.grid ** 2, D = this.cfg.hidden_size;
      const patches = patchEmbed(pixels, this.patch_embedding.weight, this.patch_embedding.bias, this.cfg.patch_size);
      let x = add(patches.reshape([N, D]), this.position_embedding);                      // [N, Dv]
      taps?.capture('vision.embeddings', x.reshape([1, N, D]));
      this.layers.forEach((layer, i) => {
        x = layer.forward(x);
        taps?.capture(`vision.layers.${i}`, x.reshape([1, N, D]));
      });
      return x;
    });
  }
}
