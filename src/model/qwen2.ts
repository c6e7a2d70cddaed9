// Qwen2 decoder (architecture.md §8-9) with LLaVA-ST's extended vocabulary.
//   layer: x += o_proj(Attn(RoPE(q), RoPE(k), v))  on RMSNorm(x)   q/k/v with bias, GQA
//          x += down(silu(gate(m)) ⊙ up(m)),  m = RMSNorm(x)       SwiGLU, arXiv 2002.05202 eq. 5
//   final RMSNorm, then logits against [lm_head; Tout; Hout; Wout] -> V + 3·bins columns.
// Input ids >= V embed through [embed_tokens; Tin; Hin; Win] (the raw tables: reparam is the
// identity in the forward pass, §5.2).
//
// The KV cache ([Hkv, Lmax, hd] keys and values per layer, post-RoPE) is owned by each attention
// module and preallocated to the longest sequence a generation can reach.
// Shapes: L new tokens, P = offset (tokens already cached), D width, Hq/Hkv heads, hd = D/Hq,
//         I MLP width, V vocab_size, W = V + 3·bins logits.
import { keep, scope } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { ShapeError, StateError } from '../core/errors.js';
import { siluMul } from '../ops/activation.js';
import { attention, writeKV } from '../ops/attention.js';
import { concatRows, sliceRows } from '../ops/copy.js';
import { add } from '../ops/elementwise.js';
import { convert } from '../ops/convert.js';
import { embeddingFromIds } from '../ops/gather.js';
import { SplitWeight, linear, type Weight } from '../ops/linear.js';
import { rope } from '../ops/rope.js';
import { Linear, RMSNorm } from '../nn/layers.js';
import type { Taps } from '../nn/taps.js';
import type { WeightSource } from '../nn/weights.js';
import type { TextConfig } from './config.js';
import type { CoordinateTables } from './lape.js';

export class Qwen2Attention {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  private cache: { k: Tensor; v: Tensor } | undefined;

  constructor(w: WeightSource, prefix: string, readonly cfg: TextConfig) {
    const D = cfg.hidden_size, kv = cfg.num_key_value_heads * cfg.head_dim;
    this.q_proj = new Linear(w, `${prefix}.q_proj`, D, D);
    this.k_proj = new Linear(w, `${prefix}.k_proj`, D, kv);
    this.v_proj = new Linear(w, `${prefix}.v_proj`, D, kv);
    this.o_proj = new Linear(w, `${prefix}.o_proj`, D, D, false);
  }

  get capacity(): number {
    return this.cache?.k.shape[1] ?? 0;
  }

  /** Makes room for `length` positions; an existing cache that is large enough is reused. */
  reserve(length: number, gpu: Tensor['gpu'], dtype: Tensor['dtype']): void {
    if (this.capacity >= length) return;
    this.releaseCache();
    const shape = [this.cfg.num_key_value_heads, length, this.cfg.head_dim];
    this.cache = { k: keep(Tensor.empty(gpu, shape, dtype, 'kv.k')), v: keep(Tensor.empty(gpu, shape, dtype, 'kv.v')) };
  }

  releaseCache(): void {
    if (this.cache) { this.cache.k.dispose(); this.cache.v.dispose(); }
    this.cache = undefined;
  }

  /** x [L, D] at positions offset..offset+L-1 -> [L, D]; appends to the cache. */
  forward(x: Tensor, offset: number): Tensor {
    const { num_attention_heads: Hq, num_key_value_heads: Hkv, head_dim: hd, rope_theta: theta } = this.cfg;
    const L = x.shape[0]!;
    if (!this.cache || offset + L > this.capacity) {
      throw new ShapeError(`KV cache: positions ${offset}..${offset + L - 1} exceed its capacity ${this.capacity} (reserve() first)`);
    }
    const rot = (t: Tensor) => rope(t, { offset, theta, tableDtype: this.cfg.rope_table_dtype });
    const q = rot(this.q_proj.forward(x).reshape([L, Hq, hd]));                         // [L, Hq, hd]
    const k = rot(this.k_proj.forward(x).reshape([L, Hkv, hd]));                        // [L, Hkv, hd]
    writeKV(this.cache.k, k, offset);
    writeKV(this.cache.v, this.v_proj.forward(x).reshape([L, Hkv, hd]), offset);
    const o = attention(q, this.cache.k, this.cache.v, { causal: true, kvLength: offset + L, qOffset: offset });
    return this.o_proj.forward(o.reshape([L, Hq * hd]));
  }
}

export class Qwen2DecoderLayer {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: Qwen2Attention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: { gate_proj: Linear; up_proj: Linear; down_proj: Linear };

  constructor(w: WeightSource, prefix: string, cfg: TextConfig) {
    const D = cfg.hidden_size, I = cfg.intermediate_size;
    this.input_layernorm = new RMSNorm(w, `${prefix}.input_layernorm`, D, cfg.rms_norm_eps);
    this.self_attn = new Qwen2Attention(w, `${prefix}.self_attn`, cfg);
    this.post_attention_layernorm = new RMSNorm(w, `${prefix}.post_attention_layernorm`, D, cfg.rms_norm_eps);
    this.mlp = {
      gate_proj: new Linear(w, `${prefix}.mlp.gate_proj`, D, I, false),
      up_proj: new Linear(w, `${prefix}.mlp.up_proj`, D, I, false),
      down_proj: new Linear(w, `${prefix}.mlp.down_proj`, I, D, false),
    };
  }

  forward(x: Tensor, offset: number): Tensor {
    return scope(() => {
      const h = add(x, this.self_attn.forward(this.input_layernorm.forward(x), offset));
      const m = this.post_attention_layernorm.forward(h);
      return add(h, this.mlp.down_proj.forward(siluMul(this.mlp.gate_proj.forward(m), this.mlp.up_proj.forward(m))));
    });
  }
}

export type LogitsMode = 'all' | 'last' | 'none';

export class Qwen2Model {
  readonly layers: Qwen2DecoderLayer[] = [];
  readonly norm: RMSNorm;
  /** [V, D] as loaded; replaced by the extended tables in prepare(). */
  private embed_tokens: Weight;
  private lm_head: Weight;
  /** [embed_tokens; Tin; Hin; Win] [V + 3·bins, D] and [lm_head; Tout; Hout; Wout]. */
  private inputTable: Weight | undefined;
  private headTable: Weight | undefined;
  private extra: Tensor[] = [];

  constructor(w: WeightSource, readonly cfg: TextConfig, readonly coords: CoordinateTables) {
    const D = cfg.hidden_size, V = cfg.vocab_size;
    this.embed_tokens = w.takeWeight('model.embed_tokens.weight', [V, D]);
    for (let i = 0; i < cfg.num_hidden_layers; i++) this.layers.push(new Qwen2DecoderLayer(w, `model.layers.${i}`, cfg));
    this.norm = new RMSNorm(w, 'model.norm', D, cfg.rms_norm_eps);
    this.lm_head = w.takeWeight('lm_head.weight', [V, D]);
  }

  /**
   * Builds the extended tables once the weights are on the GPU. A table that fits one binding is
   * concatenated (and the [V, D] original freed); a split one gains one more part of 3·bins rows.
   */
  prepare(maxBindingBytes: number): void {
    if (this.inputTable) return;
    const extend = (base: Weight, tables: Tensor[], name: string): Weight => {
      // The coordinate rows take the storage dtype of a plain base (f16 tables under f32 compute).
      const plain = base instanceof SplitWeight ? base.parts.find((p): p is Tensor => p instanceof Tensor) : base instanceof Tensor ? base : undefined;
      const coords = keep(scope(() => {
        const joined = concatRows(tables);
        return plain && plain.dtype !== joined.dtype ? convert(joined, plain.dtype as 'f32' | 'f16') : joined;
      }));
      if (!(base instanceof Tensor)) {
        this.extra.push(coords);
        const parts = base instanceof SplitWeight ? base.parts : [base];
        return new SplitWeight([...parts, coords], [base.shape[0] + coords.shape[0]!, base.shape[1]], name);
      }
      if (base.byteSize + coords.byteSize <= maxBindingBytes) {
        const joined = keep(concatRows([base, coords]));
        coords.dispose();
        base.dispose();
        this.extra.push(joined);
        return joined;
      }
      this.extra.push(coords);
      return new SplitWeight([base, coords], [base.shape[0]! + coords.shape[0]!, base.shape[1]!], name);
    };
    const c = this.coords;
    this.inputTable = extend(this.embed_tokens, [c.input.temporal, c.input.spatial_height, c.input.spatial_width], 'embed_tokens+coordinates');
    this.headTable = extend(this.lm_head, [c.output.temporal, c.output.spatial_height, c.output.spatial_width], 'lm_head+coordinates');
  }

  /** Extended-vocabulary lookup: ids (any id < W) -> [L, D]. */
  embed(ids: Int32Array): Tensor {
    if (!this.inputTable) throw new StateError('Qwen2Model.embed before prepare(): LlavaSt.load prepares the extended tables');
    return embeddingFromIds(this.inputTable, ids, this.norm.weight.dtype as 'f32' | 'f16');
  }

  /** Reserves every layer's KV cache for `length` positions. */
  reserve(length: number): void {
    const t = this.norm.weight;
    for (const l of this.layers) l.self_attn.reserve(length, t.gpu, t.dtype);
  }

  releaseCaches(): void {
    for (const l of this.layers) l.self_attn.releaseCache();
  }

  get capacity(): number {
    return this.layers[0]?.self_attn.capacity ?? 0;
  }

  /**
   * x [L, D] at positions offset.. -> logits [L, W] ('all'), [1, W] ('last') or none.
   * Taps: decoder.layers.{i} [L, D], decoder.norm [L, D], logits [L, W].
   */
  forward(x: Tensor, offset: number, mode: LogitsMode, taps?: Taps): Tensor | undefined {
    return scope(() => {
      let h = x;
      this.layers.forEach((layer, i) => {
        h = layer.forward(h, offset);
        taps?.capture(`decoder.layers.${i}`, h);
      });
      const n = this.norm.forward(h);
      taps?.capture('decoder.norm', n);
      if (mode === 'none') return undefined;
      const L = n.shape[0]!;
      const logits = linear(mode === 'last' && L > 1 ? sliceRows(n, L - 1, L) : n, this.headTable!);
      taps?.capture('logits', logits);
      return logits;
    });
  }

  dispose(): void {
    this.releaseCaches();
    for (const t of this.extra) if (!t.disposed) t.dispose();
    this.extra = [];
  }
}
