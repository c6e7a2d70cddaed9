// Spatial-Temporal Packer (architecture.md §6; the paper's ST-Packer): point-to-region attention.
// Each query token attends only to the R tokens of its own region:
//   spatial  (token_packer):      per frame, G×G -> s×s; query = centre of each f×f block, R = f²
//   temporal (token_packer_slow): T -> T/k frames; query = middle frame k·i + ⌊k/2⌋ of each window
//                                 of k frames, same cell, R = k
// (Both resamplings of the released code are exact picks: bilinear/linear with align_corners=False
// at an odd integer factor lands on the centre sample.) token_packer_fast feeds nothing the LLM
// sees (§7.4) and is computed nowhere.
//
// One block (module "devide_attention", upstream spelling):
//   q0 = LN_q(MLP_q(x_q)), k0 = LN_k(MLP_k(x_j)), v0 = LN_v(MLP_v(x_j))   MLP = Linear, erf GELU, Linear
//   O  = MultiheadAttention(q0, k0, v0)    in_proj rows q | k | v, heads of E/H, then out_proj
//   y  = x_q + to_out(O)
//
// Shapes: D LLM width, E packer width, H heads, G grid side, s = √latents, f = G/s,
//         L = s² tokens per frame after the spatial stage, T frames, k temporal factor.
import { keep, scope } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { ShapeError } from '../core/errors.js';
import { add } from '../ops/elementwise.js';
import { gatherRows } from '../ops/gather.js';
import { linear } from '../ops/linear.js';
import { regionAttention } from '../ops/region_attention.js';
import { GeluMlp, LayerNorm, Linear } from '../nn/layers.js';
import type { Taps } from '../nn/taps.js';
import type { WeightSource } from '../nn/weights.js';
import type { PackerConfig } from './config.js';

/** Which rows of the block input each query reads: itself [Nq], and its region [Nq, R]. */
export interface RegionLayout { query: Uint32Array; region: Uint32Array; size: number }

/** Spatial: G×G grid -> s×s queries at block centres, regions f×f (row-major everywhere). */
export function spatialLayout(grid: number, side: number, frames = 1): RegionLayout {
  const f = grid / side, c = Math.floor(f / 2), L = side * side, N = grid * grid;
  const query = new Uint32Array(frames * L), region = new Uint32Array(frames * L * f * f);
  for (let t = 0; t < frames; t++) {
    for (let a = 0; a < side; a++) {
      for (let b = 0; b < side; b++) {
        const n = t * L + a * side + b;
        query[n] = t * N + (f * a + c) * grid + (f * b + c);
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) region[n * f * f + dy * f + dx] = t * N + (f * a + dy) * grid + (f * b + dx);
      }
    }
  }
  return { query, region, size: f * f };
}

/** Temporal: T frames of L tokens -> T/k slots; query at the window's middle frame, region the k frames. */
export function temporalLayout(frames: number, perFrame: number, factor: number): RegionLayout {
  const slots = frames / factor, c = Math.floor(factor / 2);
  const query = new Uint32Array(slots * perFrame), region = new Uint32Array(slots * perFrame * factor);
  for (let i = 0; i < slots; i++) {
    for (let s = 0; s < perFrame; s++) {
      const n = i * perFrame + s;
      query[n] = (i * factor + c) * perFrame + s;
      for (let j = 0; j < factor; j++) region[n * factor + j] = (i * factor + j) * perFrame + s;
    }
  }
  return { query, region, size: factor };
}

/** TokenPackerModule.devide_attention: one point-to-region attention block. */
export class PackerBlock {
  readonly to_q: GeluMlp;
  readonly to_k: GeluMlp;
  readonly to_v: GeluMlp;
  readonly ln_q: LayerNorm;
  readonly ln_k: LayerNorm;
  readonly ln_v: LayerNorm;
  /** nn.MultiheadAttention's packed in_proj_weight [3E, E], taken as its q, k, v row blocks. */
  readonly attn: { q: Tensor; k: Tensor; v: Tensor; bq: Tensor; bk: Tensor; bv: Tensor; out_proj: Linear };
  readonly to_out: Linear;

  constructor(w: WeightSource, readonly prefix: string, width: number, readonly cfg: PackerConfig) {
    const E = cfg.embed_dim;
    const mlp = (x: string) => new GeluMlp(w, `${prefix}.to_${x}`, width, E, E, 'erf');
    const ln = (x: string) => new LayerNorm(w, `${prefix}.ln_${x}`, E, cfg.ln_eps);
    this.to_q = mlp('q'); this.ln_q = ln('q');
    this.to_k = mlp('k'); this.ln_k = ln('k');
    this.to_v = mlp('v'); this.ln_v = ln('v');
    const W = `${prefix}.attn.in_proj_weight`, B = `${prefix}.attn.in_proj_bias`;
    this.attn = {
      q: w.takeRows(W, [3 * E, E], 0, E), k: w.takeRows(W, [3 * E, E], E, 2 * E), v: w.takeRows(W, [3 * E, E], 2 * E, 3 * E),
      bq: w.takeRows(B, [3 * E], 0, E), bk: w.takeRows(B, [3 * E], E, 2 * E), bv: w.takeRows(B, [3 * E], 2 * E, 3 * E),
      out_proj: new Linear(w, `${prefix}.attn.out_proj`, E, E),
    };
    this.to_out = new Linear(w, `${prefix}.to_out`, E, width, false);
  }

  /** x [Nk, D], query index u32 [Nq], region index u32 [Nq, R] -> [Nq, D] */
  forward(x: Tensor, query: Tensor, region: Tensor): Tensor {
    return scope(() => {
      const xq = gatherRows(x, query);                                                    // [Nq, D]
      const q0 = this.ln_q.forward(this.to_q.forward(xq));                                // [Nq, E]
      const k0 = this.ln_k.forward(this.to_k.forward(x));                                 // [Nk, E]
      const v0 = this.ln_v.forward(this.to_v.forward(x));
      const Q = linear(q0, this.attn.q, this.attn.bq);
      const K = linear(k0, this.attn.k, this.attn.bk);
      const V = linear(v0, this.attn.v, this.attn.bv);
      const E = this.cfg.embed_dim, H = this.cfg.num_heads;
      const O = regionAttention(Q, K, V, region, H, (E / H) ** -0.5);                    // [Nq, E]
      return add(xq, this.to_out.forward(this.attn.out_proj.forward(O)));
    });
  }
}

export class TokenPacker {
  readonly token_packer: PackerBlock;
  readonly token_packer_slow: PackerBlock;
  private readonly layouts = new Map<string, { query: Tensor; region: Tensor }>();

  constructor(w: WeightSource, width: number, readonly cfg: PackerConfig, readonly grid: number) {
    const p = 'model.vision_resampler';
    this.token_packer = new PackerBlock(w, `${p}.token_packer.devide_attention`, width, cfg);
    this.token_packer_slow = new PackerBlock(w, `${p}.token_packer_slow.devide_attention`, width, cfg);
  }

  /** B frames' post-LAPE tokens [B·G², D] -> [B·L, D], each frame on its own. Taps: packer.spatial [B, L, D]. */
  spatial(x: Tensor, frames = 1, taps?: Taps): Tensor {
    const idx = this.layout(`spatial:${frames}`, () => spatialLayout(this.grid, this.cfg.side, frames), x.gpu);
    const y = this.token_packer.forward(x, idx.query, idx.region);
    if (taps?.wants('packer.spatial')) scope(() => taps.capture('packer.spatial', y.reshape([frames, y.shape[0]! / frames, y.shape[1]!])));
    return y;
  }

  /**
   * Spatial outputs of T frames [T·L, D] -> [T/k·L, D]: k = temporalFactor for a full video, 1 for
   * a single image (no interpolation, the region is the frame itself). Taps: packer.slow [T/k, L, D].
   */
  temporal(y: Tensor, frames: number, taps?: Taps): Tensor {
    const L = this.cfg.latents;
    let factor: number;
    if (frames === 1) factor = 1;
    else if (frames === this.cfg.frames) factor = this.cfg.temporalFactor;
    else throw new ShapeError(`packer: a video must have exactly ${this.cfg.frames} frames (max_frame), got ${frames}`);
    const idx = this.layout(`temporal:${frames}`, () => temporalLayout(frames, L, factor), y.gpu);
    const z = this.token_packer_slow.forward(y, idx.query, idx.region);
    if (taps?.wants('packer.slow')) scope(() => taps.capture('packer.slow', z.reshape([frames / factor, L, z.shape[1]!])));
    return z;
  }

  private layout(key: string, make: () => RegionLayout, gpu: Tensor['gpu']): { query: Tensor; region: Tensor } {
    let t = this.layouts.get(key);
    if (!t) {
      const l = make();
      t = {
        query: Tensor.fromArray(gpu, l.query, [l.query.length], 'u32', `${key}.query`),
        region: Tensor.fromArray(gpu, l.region, [l.query.length, l.size], 'u32', `${key}.region`),
      };
      // Index tensors live with the module, not with whatever scope first asked for them.
      for (const x of Object.values(t)) keep(x);
      this.layouts.set(key, t);
    }
    return t;
  }

  dispose(): void {
    for (const t of this.layouts.values()) { t.query.dispose(); t.region.dispose(); }
    this.layouts.clear();
  }
}
