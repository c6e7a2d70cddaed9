// The memory plan: from config.json and the safetensors headers alone (no weight bytes), how many
// bytes each stage's weights take in each storage format, the peak activation memory of an image
// question and of a 100-frame video question for the batching the code really does, and whether
// that fits the adapter. `plan` prints it, `run` and LlavaSt.load({ weights: 'auto' }) follow it:
// chooseLayout() is the one place where a weight format is picked.
//
// Headroom rule (explicit, so a user can redo it by hand):
//   needed = weights + activations of the worst question + RUNTIME_BYTES (Node, Dawn, decoded frames)
//   budget = memory · MEMORY_SHARE
//   memory: what the user says (--memory GB), else on a CPU adapter (lavapipe, llvmpipe, SwiftShader:
//   GPU memory is the process's RAM) the machine's RAM; a discrete GPU's memory cannot be read
//   through WebGPU, so there the plan only states the bytes and asks for --memory.
//   MEMORY_SHARE is 0.6 of RAM on a CPU adapter (the OS, the page cache of the streamed checkpoint
//   and other processes live in the rest) and 0.9 of a GPU's memory (the driver's own share).
// A layout also fails when one buffer exceeds maxBufferSize or one row exceeds a binding.
import { Checkpoint } from '../core/checkpoint.js';
import type { Gpu } from '../core/device.js';
import type { ModelSource } from '../core/source.js';
import { adapterClass } from '../ops/policy.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import { ConfigError, InputError, LimitError, WeightError } from '../core/errors.js';
import { quantBytes } from '../core/quant.js';
import { logicalTensors, storedQuantOf, type StoredQuant } from '../nn/quantized_checkpoint.js';
import { shapeStr } from '../core/tensor.js';
import { storageOf, WEIGHT_FORMATS, isQuantized, type ComputeDType, type WeightFormat, type WeightLayout } from '../nn/weight_format.js';
import { UNUSED_BY_DESIGN } from '../nn/weights.js';
import { loadConfig, type LlavaStConfig } from './config.js';
import { expectedTensors, packerEmbedDimOf } from './weight_names.js';

export const MEMORY_SHARE = { cpu: 0.6, gpu: 0.9 } as const;
/** Node's heap, Dawn's staging buffers, a video's decoded frames and the tokenizer. */
export const RUNTIME_BYTES = 1 << 30;
/** Tokens of chat template and question around the media block (a generous bound). */
export const TEXT_TOKENS = 160;
/** Fast-path tokens a video frame keeps in the prompt (mm_perceiver_latents_fast, §7.2). */
export const FAST_TOKENS_PER_FRAME = 9;

/** What the plan needs to know of the adapter. */
export interface AdapterFacts {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  hasF16: boolean;
  /** A software (CPU) adapter: its memory is the machine's RAM. */
  cpu: boolean;
  /** Bytes of memory behind the adapter, when known (RAM on a CPU adapter, or --memory). */
  memoryBytes?: number;
  memorySource: string;
}

/**
 * The adapter's facts for the plan. `memory` is what the caller knows of the memory behind the
 * adapter (a CPU adapter's RAM, a user's --memory); without it the budget is unknown.
 */
export function adapterFacts(gpu: Gpu, memory?: { bytes: number; source: string }): AdapterFacts {
  return {
    maxBufferSize: gpu.limits.maxBufferSize, maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize, hasF16: gpu.hasF16,
    cpu: adapterClass(gpu) === 'software',
    ...(memory ? { memoryBytes: memory.bytes } : {}),
    memorySource: memory?.source ?? 'unknown (a GPU\'s memory is not visible to WebGPU)',
  };
}

/** config.json, vision_tower_config.json and the checkpoint's header entries. */
export interface CheckpointFacts {
  dir: string;
  config: LlavaStConfig;
  /** name -> shape and source dtype, as in the headers. */
  tensors: Map<string, { shape: number[]; dtype: string }>;
  /** The file the tensors were read from (labels errors). */
  source: string;
  /** Set for a quantized checkpoint (nn/quantized_checkpoint): its weights load as stored. */
  stored?: StoredQuant;
}

export interface StageRow { stage: string; params: number; bytes: Record<WeightFormat, number> }

export interface FormatFit {
  format: WeightFormat;
  weights: number;
  needed: number;
  /** 'unknown' when only the memory behind the adapter is unknown (no limit or feature is broken). */
  fits: boolean | 'unknown';
  /** Why not (or why unknown): the first reason. */
  why?: string;
  /** Linear weights whose rows the groups do not tile, stored f16 instead (quantized formats). */
  fallbacks: string[];
}

export interface Plan {
  dir: string;
  compute: ComputeDType;
  group: number;
  stages: StageRow[];
  activations: { image: number; video: number; videoFramesPerBatch: number; videoFrames: number; maxNewTokens: number };
  adapter: AdapterFacts;
  budget: number | undefined;
  fits: FormatFit[];
}

export interface PlanOptions { compute: ComputeDType; group: number; maxNewTokens?: number }

/**
 * Reads config.json and the headers of a checkpoint (a folder path in Node, or a model source: a
 * URL, files picked in a page) and checks them against each other (typed errors).
 */
export async function readCheckpointFacts(from: string | ModelSource): Promise<CheckpointFacts> {
  const dir = typeof from === 'string' ? from : from.label;
  let ckpt: Checkpoint;
  try {
    ckpt = typeof from === 'string' ? await Checkpoint.open(from) : await Checkpoint.fromSource(from);
  } catch (e) {
    throw new InputError(`${dir} is not a checkpoint folder: ${(e as Error).message}`, { cause: e });
  }
  try {
    const stored = storedQuantOf(ckpt.metadata, ckpt.source);
    const tensors = logicalTensors(ckpt);
    const shapes = new Map([...tensors].map(([n, t]) => [n, t.shape]));
    let config: LlavaStConfig;
    try {
      config = await loadConfig(from, packerEmbedDimOf(shapes));
    } catch (e) {
      if (e instanceof ConfigError && /config\.json: cannot read/.test(e.message)) throw new InputError(`${dir} is not a checkpoint folder: it has safetensors but no readable config.json`);
      throw e;
    }
    checkAgainstConfig(dir, config, shapes, ckpt.source);
    return { dir, config, tensors, source: ckpt.source, ...(stored ? { stored } : {}) };
  } finally {
    await ckpt.close();
  }
}

/** Every tensor the model reads must be in the checkpoint with the shape config.json implies. */
function checkAgainstConfig(dir: string, config: LlavaStConfig, shapes: Map<string, number[]>, source: string): void {
  const expected = expectedShapes(config);
  for (const [name, want] of expected) {
    const got = shapes.get(name);
    if (got === undefined) throw new WeightError(`${source}: missing tensor ${name} (config.json implies ${shapeStr(want)})`);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new ConfigError(`${dir}/config.json`, `sizes disagree with the checkpoint: ${name} is ${shapeStr(got)} in ${source}, the config implies ${shapeStr(want)}`);
    }
  }
}

/** name -> shape of every tensor the forward pass reads, from the parsed config (weight_names's table). */
function expectedShapes(c: LlavaStConfig): Map<string, number[]> {
  const t = c.text, v = c.vision;
  return expectedTensors(
    { hidden_size: t.hidden_size, num_attention_heads: t.num_attention_heads, num_key_value_heads: t.num_key_value_heads,
      intermediate_size: t.intermediate_size, vocab_size: t.vocab_size, num_hidden_layers: t.num_hidden_layers,
      num_temporal_tokens: c.temporalBins, num_spatial_tokens: c.spatialBins, mm_hidden_size: v.hidden_size,
      mm_projector_type: 'mlp2x_gelu', mm_resampler_type: 'fast_slow_resampler' },
    { hidden_size: v.hidden_size, intermediate_size: v.intermediate_size, num_hidden_layers: v.layers + 1, num_hidden_layers_in_checkpoint: v.layers, patch_size: v.patch_size,
      image_size: v.image_size, num_channels: v.num_channels, packer_embed_dim: c.packer.embed_dim },
  );
}

const STAGES: [string, RegExp][] = [
  ['vision (SigLIP)', /^model\.vision_tower\./],
  ['projector', /^model\.mm_projector\./],
  ['packer', /^model\.vision_resampler\./],
  ['LAPE tables', /^model\.(temporal|spatial_height|spatial_width)_(input|output)_embeddings\./],
  ['embed_tokens', /^model\.embed_tokens\./],
  ['decoder layers', /^model\.(layers\.|norm\.)/],
  ['lm_head', /^lm_head\./],
];

/** GPU bytes of one tensor under a layout (weights get exact-size buffers: core/pool). */
export function tensorBytes(name: string, shape: readonly number[], layout: WeightLayout): number {
  const s = storageOf(name, shape, layout);
  const n = shape.reduce((a, b) => a * b, 1);
  if (s.kind === 'plain') return Math.ceil((n * BYTES_PER_ELEMENT[s.dtype]) / 4) * 4;
  const q = quantBytes(s.format, shape[0]!, n / shape[0]!, s.group);
  return q.codes + q.groups;
}

/**
 * Frames the vision tower encodes together (LlavaSt's video path; the plan and the tuner's workload
 * count with it): as many as keep the widest per-frame activation (SigLIP's MLP, the projector, the
 * packer's MLPs) under 64 MiB and one binding. Small models take a whole video at once (few, large
 * dispatches); so400m takes ~5 frames in f32.
 */
export function framesPerBatch(c: LlavaStConfig, compute: ComputeDType, maxBinding: number): number {
  const { grid, intermediate_size: Iv, hidden_size: Dv } = c.vision;
  const widest = Math.max(Iv, 3 * Dv, c.text.hidden_size, 3 * c.packer.embed_dim);
  const perFrame = grid * grid * widest * BYTES_PER_ELEMENT[compute];
  const budget = Math.min(64 << 20, maxBinding);
  return Math.max(1, Math.min(c.packer.frames, Math.floor(budget / perFrame)));
}

/**
 * Peak activation bytes of one question (an upper bound, pool rounding included). Vision: one batch
 * of B frames through a SigLIP layer (x, norm, q, k, v, attention, o, residual, fc1, GELU: 8·Dv + 2·Iv
 * a token), the projector, LAPE and the packer's spatial MLPs (4·D + 6·E), with the pixels and the
 * packed tokens alongside. Prefill: S prompt rows through a decoder layer (x, norm, q, k, v, o,
 * residuals: 8·D; gate, up, their product: 3·I), the KV cache for S + maxNew positions, and the
 * logits row. The pool may keep both phases' buffers (idle ones are reused, not returned), so they add.
 */
export function activationBytes(c: LlavaStConfig, kind: 'image' | 'video', compute: ComputeDType, maxBinding: number, maxNew: number): number {
  const b = BYTES_PER_ELEMENT[compute];
  const { grid, hidden_size: Dv, intermediate_size: Iv, image_size: S, num_channels: C } = c.vision;
  const { hidden_size: D, intermediate_size: I, num_hidden_layers: layers, num_key_value_heads: Hkv, head_dim: hd } = c.text;
  const E = c.packer.embed_dim, N = grid * grid;
  const T = kind === 'image' ? 1 : c.packer.frames;
  const B = Math.min(T, framesPerBatch(c, compute, maxBinding));
  const vision = B * N * (8 * Dv + 2 * Iv + 4 * D + 6 * E) * b
    + T * C * S * S * (4 + b)                                             // pixels f32 + compute copy
    + (kind === 'video' ? T * c.packer.latents * D * b : N * D * b);      // packed frames / image tokens
  const prompt = (kind === 'image' ? c.imageTokens : c.videoTokens + T * FAST_TOKENS_PER_FRAME) + TEXT_TOKENS;
  const kv = layers * 2 * Hkv * hd * (prompt + maxNew) * b;
  const prefill = prompt * (8 * D + 3 * I) * b + prompt * D * b + c.logitsWidth * 4 * 2;
  return Math.ceil((vision + prefill + kv) * 1.125);
}

/** The plan for every storage format (for the compute dtype and group size given). */
export function makePlan(facts: CheckpointFacts, adapter: AdapterFacts, opts: PlanOptions): Plan {
  const { config: c } = facts;
  const maxNew = opts.maxNewTokens ?? 1024;
  const used = [...facts.tensors].filter(([n]) => !UNUSED_BY_DESIGN.some((p) => p.test(n)));
  const stages: StageRow[] = STAGES.map(([stage]) => ({ stage, params: 0, bytes: Object.fromEntries(WEIGHT_FORMATS.map((f) => [f, 0])) as Record<WeightFormat, number> }));
  const group = facts.stored?.group ?? opts.group;
  const layouts = WEIGHT_FORMATS.map((format): WeightLayout => ({ format, group, compute: opts.compute }));
  const fallbacks = new Map<WeightFormat, string[]>(WEIGHT_FORMATS.map((f) => [f, []]));
  const biggest = new Map<WeightFormat, { name: string; bytes: number }>();
  for (const [name, { shape }] of used) {
    const i = STAGES.findIndex(([, p]) => p.test(name));
    const row = stages[i < 0 ? stages.length - 1 : i]!;
    row.params += shape.reduce((a, b) => a * b, 1);
    for (const layout of layouts) {
      const bytes = tensorBytes(name, shape, layout);
      row.bytes[layout.format] += bytes;
      const s = storageOf(name, shape, layout);
      if (isQuantized(layout.format) && s.kind === 'plain' && s.dtype === 'f16' && shape.length === 2 && name !== 'model.embed_tokens.weight') fallbacks.get(layout.format)!.push(name);
      // Split weights are row chunks within one binding; a buffer over maxBufferSize cannot exist.
      const rowBytes = bytes / (shape[0] ?? 1);
      const largest = Math.min(bytes, Math.max(rowBytes, Math.floor(adapter.maxStorageBufferBindingSize / rowBytes) * rowBytes));
      if (largest > (biggest.get(layout.format)?.bytes ?? 0)) biggest.set(layout.format, { name, bytes: largest });
    }
  }
  const frames = c.packer.frames;
  const image = activationBytes(c, 'image', opts.compute, adapter.maxStorageBufferBindingSize, maxNew);
  const video = activationBytes(c, 'video', opts.compute, adapter.maxStorageBufferBindingSize, maxNew);
  const memory = adapter.memoryBytes;
  const budget = memory === undefined ? undefined : Math.floor(memory * (adapter.cpu ? MEMORY_SHARE.cpu : MEMORY_SHARE.gpu));
  const fits = layouts.map((layout): FormatFit => {
    const f = layout.format;
    const weights = stages.reduce((s, r) => s + r.bytes[f], 0);
    const needed = weights + Math.max(image, video) + RUNTIME_BYTES;
    const big = biggest.get(f);
    let why: string | undefined;
    if (facts.stored && f !== facts.stored.format) why = `the checkpoint is stored ${facts.stored.format}: it loads as it is`;
    else if ((f === 'f16' || isQuantized(f) || opts.compute === 'f16') && !adapter.hasF16) why = 'needs shader-f16 (f16 tables or compute), which this adapter lacks';
    else if (big && big.bytes > adapter.maxBufferSize) why = `${big.name} needs a ${gib(big.bytes)} buffer, over maxBufferSize ${gib(adapter.maxBufferSize)}`;
    else if (big && big.bytes / (used.find(([n]) => n === big.name)![1].shape[0] ?? 1) > adapter.maxStorageBufferBindingSize) why = `a row of ${big.name} exceeds maxStorageBufferBindingSize`;
    const hard = why !== undefined;
    if (!hard && budget === undefined) why = 'the memory behind this adapter is unknown: pass --memory GB';
    else if (!hard && needed > budget!) why = `needs ${gib(needed)}, over the budget ${gib(budget!)} (${adapter.cpu ? MEMORY_SHARE.cpu : MEMORY_SHARE.gpu} of ${gib(memory!)})`;
    const fit = hard ? false : budget === undefined ? 'unknown' : needed <= budget;
    return { format: f, weights, needed, fits: fit, ...(why ? { why } : {}), fallbacks: fallbacks.get(f)! };
  });
  return {
    dir: facts.dir, compute: opts.compute, group, stages, adapter, budget, fits,
    activations: { image, video, videoFrames: frames, videoFramesPerBatch: framesPerBatch(c, opts.compute, adapter.maxStorageBufferBindingSize), maxNewTokens: maxNew },
  };
}

/**
 * The weight format to load with. A named format is checked (a typed error if it does not fit);
 * 'auto' takes the first that fits of: the compute dtype, f16, q8, q4 (most precise first). With
 * nothing fitting it throws, before any weight is read.
 */
export function chooseLayout(plan: Plan, want: WeightFormat | 'auto'): WeightLayout {
  const order: WeightFormat[] = want === 'auto' ? [...new Set<WeightFormat>([plan.compute, 'f16', 'q8', 'q4'])] : [want];
  const layout = (f: WeightFormat): WeightLayout => ({ format: f, group: plan.group, compute: plan.compute });
  const fitOf = (f: WeightFormat) => plan.fits.find((x) => x.format === f)!;
  const sure = order.find((f) => fitOf(f).fits === true);
  if (sure) return layout(sure);
  // Memory unknown (a discrete GPU without --memory): the first layout no limit or feature rules out.
  const maybe = order.find((f) => fitOf(f).fits === 'unknown');
  if (maybe) return layout(maybe);
  const reasons = order.map((f) => `${f}: ${fitOf(f).why}`).join('; ');
  throw new LimitError(`${plan.dir}: ${want === 'auto' ? 'no weight format fits' : `--weights ${want} does not fit`} this adapter (${reasons}); see \`llava-st plan --model ${plan.dir}\``);
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
