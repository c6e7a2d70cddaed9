// SigLIP so400m-patch14-384 vision tower, truncated (architecture.md §2): patch conv + learned
// position embedding, then pre-LN transformer layers (tanh-GELU MLP). The checkpoint holds the
// layers that run (the released code deleted the last one); the output is the last layer's,
// before post_layernorm (stored, unused, never loaded). No attention mask: each frame is its own
// sequence. Frames go through in batches of B (the caller bounds B by memory): every op runs on
// the B·N rows at once, except attention, which runs frame by frame.
//
// Shapes: T frames, S image side, P patch, G = floor(S/P) grid, N = G² tokens, Dv width,
//         H heads, hd = Dv/H, M MLP width.
import { scope } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { copyRows, sliceRows } from '../ops/copy.js';
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

  /** x [B·N, Dv] (B frames of N tokens) -> [B·N, Dv]; each frame attends within itself, scale hd^-0.5. */
  forward(x: Tensor, frames = 1): Tensor {
    const N = x.shape[0]! / frames, H = this.heads, hd = this.dim / H;
    const q = this.q_proj.forward(x), k = this.k_proj.forward(x), v = this.v_proj.forward(x); // [B·N, Dv]
    const o = Tensor.empty(x.gpu, [frames * N, this.dim], x.dtype, 'siglip.attention');
    for (let b = 0; b < frames; b++) {
      scope(() => {
        const rows = (t: Tensor) => (frames === 1 ? t : sliceRows(t, b * N, (b + 1) * N)).reshape([N, H, hd]);
        const ob = attention(rows(q), transposeHeads(rows(k)), transposeHeads(rows(v)), { causal: false, scale: hd ** -0.5 }); // [N, H, hd]
        copyRows(o, b * N, ob.reshape([N, this.dim]), 0, N);
      });
    }
    return this.out_proj.forward(o);
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

  /** x [B·N, Dv] -> [B·N, Dv] */
  forward(x: Tensor, frames = 1): Tensor {
    return scope(() => {
      const a = add(x, this.self_attn.forward(this.layer_norm1.forward(x), frames));
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
   * B frames: pixels [B, C, S, S] -> features [B·N, Dv]. Taps: vision.embeddings, vision.layers.{i},
   * each [B, N, Dv] per batch (a video's captures concatenate to [T, N, Dv]).
   */
  forwardFrames(pixels: Tensor, taps?: Taps): Tensor {
    return scope(() => {
      const B = pixels.shape[0]!, N = this.cfg.grid ** 2, D = this.cfg.hidden_size;
      const patches = patchEmbed(pixels, this.patch_embedding.weight, this.patch_embedding.bias, this.cfg.patch_size);
      let x = add(patches.reshape([B, N, D]), this.position_embedding).reshape([B * N, D]); // [B·N, Dv]
      taps?.capture('vision.embeddings', x.reshape([B, N, D]));
      this.layers.forEach((layer, i) => {
        x = layer.forward(x, B);
        taps?.capture(`vision.layers.${i}`, x.reshape([B, N, D]));
      });
      return x;
    });
  }
}
