// `llava-st bench model`: ONE real-size SigLIP so400m layer (729 tokens, 1152 wide, 16 heads, MLP
// 4304) and ONE real-size Qwen2-7B decoder layer, with random weights, timed through the model's
// own modules; then the extrapolation to a 100-frame video question (26 SigLIP layers per frame,
// 28 decoder layers, ~2.6k prompt tokens). Projector, packer and head are left out (a few % of it).
import type { Gpu } from '../core/device.js';
import { keep, scope } from '../core/registry.js';
import { Tensor, numel, type Shape } from '../core/tensor.js';
import { SplitWeight, type Weight } from '../ops/linear.js';
import { attention } from '../ops/attention.js';
import type { WeightSource } from '../nn/weights.js';
import { parseConfig } from '../model/config.js';
import { SiglipVisionTower } from '../model/siglip.js';
import { Qwen2DecoderLayer } from '../model/qwen2.js';
import type { Ceilings } from './ceilings.js';

/** Random weights of any shape, uniform in ±scale, uploaded from one reused 8 MiB block. */
class RandomWeights implements WeightSource {
  readonly owned: Tensor[] = [];
  private readonly block = new Float32Array(2 << 20);
  constructor(readonly gpu: Gpu, scale = 0.02) {
    let s = 12345;
    for (let i = 0; i < this.block.length; i++) { s = (s * 1103515245 + 12345) >>> 0; this.block[i] = ((s / 2 ** 32) * 2 - 1) * scale; }
  }
  private make(shape: Shape, name: string): Tensor {
    const t = keep(Tensor.empty(this.gpu, shape, 'f32', name));
    for (let off = 0; off < t.byteSize; off += this.block.byteLength) {
      t.write(off, new Uint8Array(this.block.buffer, 0, Math.min(this.block.byteLength, t.byteSize - off)));
    }
    this.owned.push(t);
    return t;
  }
  take(name: string, shape: Shape): Tensor { return this.make(shape, name); }
  takeRows(name: string, shape: Shape, start: number, end: number): Tensor { return this.make([end - start, ...shape.slice(1)], name); }
  takeWeight(name: string, shape: Shape): Weight {
    const rowBytes = numel(shape.slice(1)) * 4;
    const max = this.gpu.limits.maxStorageBufferBindingSize;
    if (shape[0]! * rowBytes <= max) return this.make(shape, name);
    const per = Math.max(1, Math.floor(max / rowBytes));
    const parts: Tensor[] = [];
    for (let r = 0; r < shape[0]!; r += per) parts.push(this.make([Math.min(per, shape[0]! - r), ...shape.slice(1)], name));
    return new SplitWeight(parts, [shape[0]!, numel(shape.slice(1))], name);
  }
  dispose(): void { for (const t of this.owned) t.dispose(); }
}

async function time(gpu: Gpu, runs: number, fn: () => void): Promise<number> {
  fn();                                   // warm-up: pipelines compiled, pool filled
  await gpu.sync();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    await gpu.sync();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

export interface ModelBench {
  siglipLayerPerFrameMs: number;
  decoderPrefillPer1000TokensMs: number;
  decoderDecodePerTokenMs: number;
  /** The decoder layer's causal attention alone, by prompt length (1000, 2600 tokens). */
  decoderAttentionMs: Record<number, number>;
  video100FramesEstimate: { visionS: number; prefillS: number; decodePerTokenS: number; totalFor64NewTokensS: number };
}

/** Prompt tokens of a 100-frame video question (the estimate's prefill). */
const PROMPT = 2600;

const QWEN2_7B = {
  model_type: 'llava_qwen', hidden_size: 3584, num_hidden_layers: 1, num_attention_heads: 28, num_key_value_heads: 4,
  intermediate_size: 18944, vocab_size: 151660, rms_norm_eps: 1e-6, rope_theta: 1e6, mm_hidden_size: 1152,
};

/** Useful FLOPs (2 per multiply-add) of one pre-LN transformer layer over L tokens. */
function layerFlops(L: number, linearsPerToken: number, attnPairs: number, width: number): number {
  return 2 * L * linearsPerToken + 4 * attnPairs * width;
}

export async function benchModel(gpu: Gpu, ceilings?: Ceilings, log: (s: string) => void = (s) => console.log(s)): Promise<ModelBench> {
  const cfg = parseConfig({ config: QWEN2_7B, packerEmbedDimFromCheckpoint: 1024 });
  const runs = 3;
  // SigLIP: the tower's own layer class with one layer; the per-frame path as the model runs it.
  const vw = new RandomWeights(gpu);
  let siglipMs: number;
  try {
    const tower = new SiglipVisionTower(vw, { ...cfg.vision, layers: 1 });
    const x = keep(Tensor.empty(gpu, [cfg.vision.grid ** 2, cfg.vision.hidden_size], 'f32', 'x'));
    vw.owned.push(x);
    siglipMs = await time(gpu, runs, () => scope(() => void tower.layers[0]!.forward(x)));
  } finally { vw.dispose(); }
  const rate = (flops: number, ms: number) => {
    const g = flops / (ms * 1e6);
    return `${g.toFixed(2)} GFLOP/s${ceilings ? `, ${(100 * g / ceilings.fmaF32GFlops).toFixed(1)}% of the f32 FMA ceiling` : ''}`;
  };
  const { hidden_size: Cv, intermediate_size: Iv } = cfg.vision;
  const N = cfg.vision.grid ** 2;
  log(`SigLIP so400m layer, ${N} tokens: ${siglipMs.toFixed(1)} ms per frame (${rate(layerFlops(N, 4 * Cv * Cv + 2 * Cv * Iv, N * N, Cv), siglipMs)})`);

  const tw = new RandomWeights(gpu);
  let prefillMs: number, decodeMs: number;
  const attnMs: Record<number, number> = {};
  try {
    const layer = new Qwen2DecoderLayer(tw, 'model.layers.0', cfg.text);
    const L = 1000;
    layer.self_attn.reserve(L + 1, gpu, 'f32');
    const x = keep(Tensor.empty(gpu, [L, cfg.text.hidden_size], 'f32', 'x'));
    const x1 = keep(Tensor.empty(gpu, [1, cfg.text.hidden_size], 'f32', 'x1'));
    tw.owned.push(x, x1);
    prefillMs = await time(gpu, runs, () => scope(() => void layer.forward(x, 0)));
    decodeMs = await time(gpu, runs * 3, () => scope(() => void layer.forward(x1, L)));
    layer.self_attn.releaseCache();
    // The layer's causal attention alone at 1000 and at 2600 tokens: it grows as L², the rest as L.
    for (const n of [1000, PROMPT]) {
      const { num_attention_heads: Hq, num_key_value_heads: Hk, head_dim: D } = cfg.text;
      const [q, k, v] = [[n, Hq, D], [Hk, n, D], [Hk, n, D]].map((shape, i) => tw.take(`attn${n}.${i}`, shape));
      attnMs[n] = await time(gpu, runs, () => scope(() => void attention(q!, k!, v!, { causal: true })));
    }
  } finally { tw.dispose(); }
  const { hidden_size: C, intermediate_size: I, num_key_value_heads: Hkv, head_dim: hd } = cfg.text;
  const perToken = 2 * C * C + 2 * C * Hkv * hd + 3 * C * I;
  log(`Qwen2-7B decoder layer: prefill ${prefillMs.toFixed(0)} ms per 1000 tokens (${rate(layerFlops(1000, perToken, 1000 * 1001 / 2, C), prefillMs)}), ` +
    `decode ${decodeMs.toFixed(1)} ms per token (${rate(layerFlops(1, perToken, 1001, C), decodeMs)}; ` +
    `${((perToken * 4) / (decodeMs * 1e6)).toFixed(2)} GB/s of f32 weights${ceilings ? `, ${(100 * (perToken * 4) / (decodeMs * 1e6) / ceilings.readGBs).toFixed(0)}% of the read ceiling` : ''})`);

  log(`its causal attention alone: ${attnMs[1000]!.toFixed(0)} ms at 1000 tokens, ${attnMs[PROMPT]!.toFixed(0)} ms at ${PROMPT}`);
  const visionS = (100 * 26 * siglipMs) / 1000;
  // A 2.6k-token prefill: the layer at 1000 tokens scaled linearly, except attention, timed at 2.6k.
  const prefillS = (28 * ((PROMPT / 1000) * (prefillMs - attnMs[1000]!) + attnMs[PROMPT]!)) / 1000;
  const decodePerTokenS = (28 * decodeMs) / 1000;
  const est = { visionS, prefillS, decodePerTokenS, totalFor64NewTokensS: visionS + prefillS + 64 * decodePerTokenS };
  log(`100-frame video question (26 SigLIP layers × 100 frames, 28 layers × 2.6k-token prefill, 64 new tokens): ` +
    `vision ${visionS.toFixed(0)} s + prefill ${prefillS.toFixed(0)} s + decode ${decodePerTokenS.toFixed(2)} s/token ≈ ${est.totalFor64NewTokensS.toFixed(0)} s`);
  return { siglipLayerPerFrameMs: siglipMs, decoderPrefillPer1000TokensMs: prefillMs, decoderDecodePerTokenMs: decodeMs, decoderAttentionMs: attnMs, video100FramesEstimate: est };
}
