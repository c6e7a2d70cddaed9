// LLaVA-ST end to end (architecture.md §1, §7, §10): vision -> projector -> LAPE -> packer ->
// splice into the prompt embeddings -> coordinate injection -> Qwen2 prefill -> decode.
//
// The released code's quirks, reproduced on purpose (fixture README "What the real forward does"):
//   - image: the 729 post-LAPE tokens replace [p, p+729) at <im_start>; the packer is not used
//   - video: the packed slow tokens replace [q, q+T/k·L) at <slow_vid_start>; the fast block's
//     900 positions keep the plain embeddings of <vid_start> <vid_patch>… <vid_end>
//   - <WIDTH-INPUT> is never injected; *-OUTPUT placeholders interpolate the INPUT tables
//
// Shapes: T frames, N = G² tokens a frame, L tokens a frame after the spatial packer,
//         S prompt length, D LLM width, W logits width.
import type { Gpu } from '../core/device.js';
import { Checkpoint } from '../core/checkpoint.js';
import { InputError, ShapeError, StageError } from '../core/errors.js';
import type { ModelSource } from '../core/source.js';
import { scope, scopeAsync } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { argmax } from '../ops/argmax.js';
import { copyRows, sliceRows } from '../ops/copy.js';
import { convert } from '../ops/convert.js';
import { lerpRows } from '../ops/gather.js';
import type { Taps } from '../nn/taps.js';
import { WeightStore, type ComputeDType } from '../nn/weights.js';
import type { WeightLayout } from '../nn/weight_format.js';
import { logicalTensors } from '../nn/quantized_checkpoint.js';
import { loadConfig, type LlavaStConfig, type SpecialTokenName } from './config.js';
export type { SamplingOptions } from './sampling.js';
import { PLACEHOLDERS, type Variables } from './coordinate_vocab.js';
import { CoordinateTables, Lape } from './lape.js';
import { TokenPacker } from './packer.js';
import { Projector } from './projector.js';
import { Qwen2Model } from './qwen2.js';
import { sample, samplingWithDefaults, type SamplingOptions } from './sampling.js';
import { SiglipVisionTower } from './siglip.js';
import { packerEmbedDimOf } from './weight_names.js';
import { framesPerBatch } from './plan.js';
import {
  STAGE_NAMES, checkStageMethods, checkStageOutput, stageDims, type StageContext, type StageFactories, type StageName, type Stages,
} from './stages.js';

export type MediaKind = 'image' | 'video';

/** Normalised pixels, [T, C, S, S] (T = 1 for an image, max_frame for a video). */
export interface Media { kind: MediaKind; pixels: Float32Array; shape: readonly number[] }

/**
 * What the model is asked: token ids (extended vocabulary), the values of the coordinate
 * placeholders among them (tasks/prompt.ts builds both), and the media its block stands for.
 */
export interface Prompt { ids: readonly number[]; variables?: Partial<Variables>; media?: Media }

export interface GenerateOptions {
  maxNewTokens?: number;
  /** Stop ids (default: generation_config's eos_token_id). */
  eos?: readonly number[];
  onToken?: (id: number, step: number) => void;
  /** Greedy unless given: true = generation_config.json's knobs, or explicit values. */
  sampling?: boolean | SamplingOptions;
  /** Taps for the prompt's forward (vision stages, inputs_embeds, decoder, logits). */
  taps?: Taps;
  /** Teacher forcing: feed these ids instead of the chosen ones (step logits still recorded). */
  forcedIds?: readonly number[];
  /** Read back every step's logits row. */
  returnStepLogits?: boolean;
  /** The prompt's inputs_embeds [S, D] from embedPrompt (skips the vision stages; not consumed). */
  promptEmbeds?: Tensor;
}

export interface GenerateResult { ids: number[]; stepLogits?: Float32Array[]; stopped: 'eos' | 'length' }

export interface LoadOptions {
  dtype?: ComputeDType;
  /** Storage of Linear weights (f32 | f16 | q8 | q4) and group size; default: the compute dtype.
   *  model/plan's chooseLayout picks one that fits. */
  weights?: Omit<WeightLayout, 'compute'>;
  chunkBytes?: number;
  onProgress?: (name: string) => void;
  /** Replacements for built-in stages, each with the same tensor contract (model/stages.ts). */
  stages?: StageFactories;
}

/** The built-in stages: SigLIP, mm_projector, LAPE, the ST-Packer, Qwen2 with coordinate tokens. */
const BUILT_IN: { [K in StageName]: (ctx: StageContext) => Stages[K] } = {
  vision: ({ weights, config }) => new SiglipVisionTower(weights, config.vision),
  projector: ({ weights, config }) => new Projector(weights, config.vision.hidden_size, config.text.hidden_size),
  lape: ({ coords, config }) => new Lape(coords, config.vision.grid),
  packer: ({ weights, config }) => new TokenPacker(weights, config.text.hidden_size, config.packer, config.vision.grid),
  decoder: ({ weights, config, coords }) => new Qwen2Model(weights, config.text, coords),
};

export class LlavaSt implements Stages {
  readonly vision: Stages['vision'];
  readonly projector: Stages['projector'];
  readonly coords: CoordinateTables;
  readonly lape: Stages['lape'];
  readonly packer: Stages['packer'];
  readonly decoder: Stages['decoder'];
  /** The stages the caller replaced. */
  readonly replaced: readonly StageName[];
  /** Built-in stages made for a caller's replacement (ctx.builtIn). */
  private readonly wrapped: unknown[] = [];

  private constructor(readonly gpu: Gpu, readonly config: LlavaStConfig, readonly weights: WeightStore, factories: StageFactories = {}) {
    const D = config.text.hidden_size;
    this.coords = new CoordinateTables(weights, D, { temporal: config.temporalBins, spatial_height: config.spatialBins, spatial_width: config.spatialBins });
    const unknown = Object.keys(factories).filter((k) => !(STAGE_NAMES as readonly string[]).includes(k));
    if (unknown.length > 0) throw new StageError(`unknown stage ${unknown.join(', ')}; the stages are ${STAGE_NAMES.join(', ')}`);
    const ctx: StageContext = {
      gpu, config, weights, dtype: weights.dtype, coords: this.coords,
      builtIn: <K extends StageName>(name: K): Stages[K] => {
        const stage = BUILT_IN[name](ctx);
        this.wrapped.push(stage); // disposed with the model, whether or not the wrapper forwards dispose()
        return stage;
      },
    };
    const built: Partial<Stages> = {};
    for (const name of STAGE_NAMES) {
      const own = factories[name] as ((c: StageContext) => Stages[typeof name]) | undefined;
      const stage = own ? own(ctx) : BUILT_IN[name](ctx);
      if (own) checkStageMethods(name, stage);
      (built as Record<StageName, unknown>)[name] = stage;
    }
    ({ vision: this.vision, projector: this.projector, lape: this.lape, packer: this.packer, decoder: this.decoder } = built as Stages);
    this.replaced = STAGE_NAMES.filter((n) => factories[n] !== undefined);
  }

  /**
   * Reads the config files of a checkpoint (a folder path in Node, or any model source: a URL,
   * files dropped in a page), checks every weight's name and shape, then streams them.
   */
  static async load(gpu: Gpu, from: string | ModelSource, opts: LoadOptions = {}): Promise<LlavaSt> {
    const ckpt = typeof from === 'string' ? await Checkpoint.open(from) : await Checkpoint.fromSource(from);
    try {
      const shapes = new Map([...logicalTensors(ckpt)].map(([n, e]) => [n, e.shape]));
      const config = await loadConfig(from, packerEmbedDimOf(shapes));
      const store = new WeightStore(gpu, ckpt, { dtype: opts.dtype ?? 'f32', ...(opts.weights ? { layout: opts.weights } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) });
      let model: LlavaSt | undefined;
      try {
        model = new LlavaSt(gpu, config, store, opts.stages);
        await store.load(opts.onProgress);
        model.decoder.prepare?.(gpu.limits.maxStorageBufferBindingSize);
        model.lape.prepare?.();
        if (model.replaced.length > 0) await model.probeStages();
      } catch (e) {
        // Stages own what they prepared (extended tables, LAPE tables, index layouts): free those too.
        if (model) model.dispose(); else store.dispose();
        throw e;
      }
      await gpu.sync();
      return model;
    } finally {
      await ckpt.close();
    }
  }

  /** Runs each replaced stage once on zeros of its contract's input shape (one frame; a full video for the packer's temporal step). */
  private async probeStages(): Promise<void> {
    const { num_channels: C, image_size: S } = this.config.vision;
    const { N, Dv, D, L, k, T, W } = stageDims(this.config);
    const dt = this.dtype;
    const zeros = (shape: number[], dtype: string = dt) => Tensor.zeros(this.gpu, shape, dtype as ComputeDType, 'stage probe');
    const is = (n: StageName) => this.replaced.includes(n);
    scope(() => {
      if (is('vision')) checkStageOutput('vision', 'forwardFrames', this.vision.forwardFrames(zeros([1, C, S, S])), [N, Dv], dt, '[N, Dv]');
      if (is('projector')) checkStageOutput('projector', 'forward', this.projector.forward(zeros([N, Dv])), [N, D], dt, '[N, D]');
      if (is('lape')) checkStageOutput('lape', 'forwardFrames', this.lape.forwardFrames(zeros([N, D]), 0, 1), [N, D], dt, '[N, D]');
      if (is('packer')) {
        checkStageOutput('packer', 'spatial', this.packer.spatial(zeros([N, D]), 1), [L, D], dt, '[L, D]');
        checkStageOutput('packer', 'temporal', this.packer.temporal(zeros([T * L, D]), T), [(T / k) * L, D], dt, '[T/k·L, D]');
      }
      if (is('decoder')) {
        checkStageOutput('decoder', 'embed', this.decoder.embed(Int32Array.of(0)), [1, D], dt, '[P, D]');
        this.decoder.reserve(1);
        checkStageOutput('decoder', 'forward', this.decoder.forward(zeros([1, D]), 0, 'last'), [1, W], dt, '[1, W]');
      }
    });
    await this.gpu.sync();
  }

  get dtype(): ComputeDType { return this.weights.dtype; }

  /**
   * Media -> the visual tokens the LLM receives: image [N, D] (post-LAPE), video [T/k·L, D] (packed).
   * Taps: vision.embeddings, vision.layers.{i}, vision, projector, lape (per frame [1, N, ·]),
   * lape.* tables, packer.spatial, packer.slow (an image's packer runs only when tapped).
   */
  encodeMedia(media: Media, taps?: Taps): Tensor {
    const { num_channels: C, image_size: S } = this.config.vision;
    const [T, c, h, w] = media.shape;
    if (media.shape.length !== 4 || c !== C || h !== S || w !== S) {
      throw new ShapeError(`${media.kind} pixels: shape [${media.shape.join(', ')}], the vision tower needs [T, ${C}, ${S}, ${S}]`);
    }
    const frames = T!;
    if (media.kind === 'image' && frames !== 1) throw new ShapeError(`image pixels: ${frames} frames, need 1`);
    if (media.kind === 'video' && frames !== this.config.packer.frames) {
      throw new ShapeError(`video pixels: ${frames} frames; the model needs exactly max_frame = ${this.config.packer.frames}`);
    }
    return scope(() => {
      const { N, Dv, D, L, k } = stageDims(this.config);
      const checked = (stage: StageName, method: string, t: Tensor, shape: number[], legend: string): Tensor => checkStageOutput(stage, method, t, shape, this.dtype, legend);
      const pixels = this.upload(media);
      this.lape.captureTables?.(taps);
      const runPacker = media.kind === 'video' || !!taps && (taps.wants('packer.spatial') || taps.wants('packer.slow'));
      const spatial = runPacker ? Tensor.empty(this.gpu, [frames * L, D], this.dtype, 'packer.spatial') : undefined;
      let image: Tensor | undefined;
      const batch = framesPerBatch(this.config, this.dtype, this.gpu.limits.maxStorageBufferBindingSize);
      for (let t0 = 0; t0 < frames; t0 += batch) {
        const B = Math.min(batch, frames - t0);
        const out = scope(() => {
          const f = checked('vision', 'forwardFrames', this.vision.forwardFrames(sliceRows(pixels, t0, t0 + B), taps), [B * N, Dv], '[B·N, Dv]');
          taps?.capture('vision', f.reshape([B, N, Dv]));
          const p = checked('projector', 'forward', this.projector.forward(f), [B * N, D], '[B·N, D]');
          taps?.capture('projector', p.reshape([B, N, D]));
          const x = checked('lape', 'forwardFrames', this.lape.forwardFrames(p, t0, B, taps), [B * N, D], '[B·N, D]');
          taps?.capture('lape', x.reshape([B, N, D]));
          if (spatial) copyRows(spatial, t0 * L, checked('packer', 'spatial', this.packer.spatial(x, B, taps), [B * L, D], '[B·L, D]'), 0, B * L);
          return media.kind === 'image' ? x : undefined;
        });
        if (out) image = out;
      }
      if (media.kind === 'image') {
        if (spatial) checked('packer', 'temporal', this.packer.temporal(spatial, 1, taps), [L, D], '[L, D]'); // tapped, discarded
        return image!;
      }
      return checked('packer', 'temporal', this.packer.temporal(spatial!, frames, taps), [(frames / k) * L, D], '[T/k·L, D]');
    });
  }

  /**
   * The decoder input: the extended-vocabulary embedding of every id, the visual tokens spliced
   * in, the coordinate placeholders injected. Tap: inputs_embeds [S, D].
   */
  inputsEmbeds(prompt: Prompt, visual: Tensor | undefined, taps?: Taps): Tensor {
    const ids = this.checkIds(prompt.ids);
    return scope(() => {
      const x = this.decoder.embed(ids);                                                  // [S, D]
      if (prompt.media) this.splice(x, ids, prompt.media.kind, visual!);
      this.injectCoordinates(x, ids, prompt.variables ?? {});
      taps?.capture('inputs_embeds', x);
      return x;
    });
  }

  /** Full prompt forward (no generation): logits [S, W] or [1, W]. Resets the KV cache. */
  async forward(prompt: Prompt, opts: { taps?: Taps; logits?: 'all' | 'last'; reserve?: number } = {}): Promise<Tensor> {
    return scopeAsync(async () => {
      const x = this.embedPrompt(prompt, opts.taps);
      this.decoder.reserve(Math.max(opts.reserve ?? 0, x.shape[0]!));
      return this.decoder.forward(x, 0, opts.logits ?? 'last', opts.taps)!;
    });
  }

  /** Greedy (default) or sampled generation with the KV cache; reads back 4 bytes a token. */
  async generate(prompt: Prompt, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const maxNew = opts.maxNewTokens ?? 1024;
    const eos = new Set(opts.eos ?? this.config.generation.eos_token_id);
    const sampling = opts.sampling ? samplingWithDefaults(opts.sampling, this.config.generation) : undefined;
    const taps = opts.taps;
    const ids: number[] = [];
    const stepLogits: Float32Array[] = [];
    let stopped: GenerateResult['stopped'] = 'length';
    let logits = await scopeAsync(async () => {
      const x = opts.promptEmbeds ?? this.embedPrompt(prompt, taps);
      if (x.shape[0] !== prompt.ids.length) throw new ShapeError(`promptEmbeds has ${x.shape[0]} rows for ${prompt.ids.length} prompt ids`);
      this.decoder.reserve(x.shape[0]! + maxNew);
      const wantAll = !!taps && taps.wants('logits');
      const all = this.decoder.forward(x, 0, wantAll ? 'all' : 'last', taps)!;
      return wantAll ? sliceRows(all, all.shape[0]! - 1, all.shape[0]!) : all;
    });
    let position = prompt.ids.length;
    if (maxNew <= 0) logits.dispose();
    for (let step = 0; step < maxNew; step++) {
      const next = await scopeAsync(async () => {
        let chosen: number;
        if (opts.returnStepLogits || sampling) {
          const row = (await logits.toArray()) as Float32Array;
          if (opts.returnStepLogits) stepLogits.push(row);
          chosen = sampling ? sample(row, ids, sampling) : (await readId(argmax(logits)));
        } else {
          chosen = await readId(argmax(logits));
        }
        return chosen;
      });
      logits.dispose();
      const fed = opts.forcedIds?.[step] ?? next;
      ids.push(fed);
      opts.onToken?.(fed, step);
      if (eos.has(fed)) { stopped = 'eos'; break; }
      if (step === maxNew - 1) break;
      logits = scope(() => this.decoder.forward(this.decoder.embed(Int32Array.of(fed)), position, 'last')!);
      position++;
    }
    return { ids, stopped, ...(opts.returnStepLogits ? { stepLogits } : {}) };
  }

  dispose(): void {
    for (const stage of new Set([...STAGE_NAMES.map((n) => this[n]), ...this.wrapped])) (stage as { dispose?: () => void }).dispose?.();
    this.weights.dispose();
  }

  /** Vision stages, splice and injection: the decoder input [S, D] (caller owns it). */
  embedPrompt(prompt: Prompt, taps?: Taps): Tensor {
    return scope(() => {
      const visual = prompt.media ? this.encodeMedia(prompt.media, taps) : undefined;
      return this.inputsEmbeds(prompt, visual, taps);
    });
  }

  /** Pixels in the compute dtype (the reference casts them with .half() in fp16 mode). */
  private upload(media: Media): Tensor {
    const pixels = Tensor.fromArray(this.gpu, media.pixels, media.shape, 'f32', `${media.kind}.pixels`);
    if (this.dtype === 'f32') return pixels;
    return scope(() => convert(pixels, this.dtype));
  }

  private checkIds(ids: readonly number[]): Int32Array {
    const W = this.config.logitsWidth;
    const out = new Int32Array(ids.length);
    ids.forEach((id, i) => {
      if (!Number.isSafeInteger(id) || id < 0 || id >= W) throw new InputError(`prompt id ${id} at position ${i} is outside the extended vocabulary [0, ${W})`);
      out[i] = id;
    });
    return out;
  }

  /** Overwrites the media block with the visual tokens (§7.3; the fast block is left alone, §7.4). */
  private splice(x: Tensor, ids: Int32Array, kind: MediaKind, visual: Tensor): void {
    const tk = this.config.tokens;
    const [start, end] = kind === 'image' ? [tk['<im_start>'], tk['<im_end>']] : [tk['<slow_vid_start>'], tk['<slow_vid_end>']];
    const n = visual.shape[0]!;
    const p = ids.indexOf(start);
    if (p < 0) throw new InputError(`${kind} prompt has no ${kind === 'image' ? '<im_start>' : '<slow_vid_start>'} token (id ${start})`);
    if (ids[p + n - 1] !== end) {
      throw new InputError(`${kind} block at ${p} must span ${n} tokens ending in id ${end}; position ${p + n - 1} holds ${ids[p + n - 1]}`);
    }
    copyRows(x, p, visual, 0, n);
  }

  /** token_transfer (§5.4): the k-th placeholder of a type takes the k-th value of its list. */
  private injectCoordinates(x: Tensor, ids: Int32Array, vars: Partial<Variables>): void {
    const tk = this.config.tokens;
    for (const { token, key, kind, injected } of PLACEHOLDERS) {
      if (!injected) continue;
      const positions: number[] = [];
      ids.forEach((id, i) => { if (id === tk[token as SpecialTokenName]) positions.push(i); });
      if (positions.length === 0) continue;
      const values = vars[key] ?? [];
      if (values.length < positions.length) {
        throw new InputError(`${positions.length} ${token} placeholders but only ${values.length} values in variables.${key}`);
      }
      const table = this.coords.input[kind];
      const top = table.shape[0]! - 1;
      const i0: number[] = [], i1: number[] = [], w: number[] = [];
      positions.forEach((_, k) => {
        const e = Math.min(Math.max(values[k]!, 0), 1) * top;
        i0.push(Math.floor(e)); i1.push(Math.ceil(e)); w.push(e - Math.floor(e));
      });
      scope(() => {
        const rows = lerpRows(table, i0, i1, w);                                          // [n, D]
        positions.forEach((pos, k) => copyRows(x, pos, rows, k, 1));
      });
    }
  }
}

async function readId(t: Tensor): Promise<number> {
  const a = await t.read();
  return a[0] as number;
}
