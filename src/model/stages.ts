// The stages a LlavaSt is built from, as contracts: what each takes and gives. A caller replaces
// a stage by passing a factory to LlavaSt.load / Assistant.load ({ stages: { packer: ... } }) that
// returns an object with the same methods and the same tensor contract. A replaced stage is run
// once on zeros at load (its outputs' shapes and dtype checked before any real input), and every
// stage's outputs are checked on every call, so a wrong stage fails with a StageError naming it,
// the method, the shape it gave and the shape the contract asks for.
//
//   pixels [T, C, S, S] -> vision -> [T·N, Dv] -> projector -> [T·N, D] -> lape -> [T·N, D]
//     -> packer.spatial -> [T·L, D] -> packer.temporal -> [T/k·L, D] (video)  -> spliced into
//   the prompt embeddings [P, D] -> decoder -> logits [1, W]
//
// Shapes: T frames (B of them in one batch), C channels, S image side, G grid side, N = G² tokens a
// frame, Dv vision width, D LLM width, L packer latents a frame, k temporal factor, P prompt
// length, W logits width (text vocabulary + coordinate tokens). Every tensor is in the model's
// compute dtype (f32 or f16), except ids (i32).
import type { Gpu } from '../core/device.js';
import { StageError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Taps } from '../nn/taps.js';
import type { ComputeDType, WeightSource } from '../nn/weights.js';
import type { LlavaStConfig } from './config.js';
import type { CoordinateTables } from './lape.js';
import type { LogitsMode } from './qwen2.js';

/** SigLIP: B frames' pixels [B, C, S, S] -> patch features [B·N, Dv]. */
export interface VisionStage {
  forwardFrames(pixels: Tensor, taps?: Taps): Tensor;
}

/** mm_projector: tokens [M, Dv] -> [M, D]. */
export interface ProjectorStage {
  forward(x: Tensor): Tensor;
}

/** LAPE: frames t0..t0+B−1's projected tokens [B·N, D] -> with their positions added [B·N, D]. */
export interface LapeStage {
  forwardFrames(v: Tensor, t0: number, frames: number, taps?: Taps): Tensor;
  /** Taps of the tables it uses, if any (called once per media). */
  captureTables?(taps: Taps | undefined): void;
  /** Work done once after the weights are loaded. */
  prepare?(): void;
  dispose?(): void;
}

/** ST-Packer: spatial [B·N, D] -> [B·L, D] per frame; temporal [T·L, D] -> [T/k·L, D] (T = 1: [L, D]). */
export interface PackerStage {
  spatial(x: Tensor, frames: number, taps?: Taps): Tensor;
  temporal(y: Tensor, frames: number, taps?: Taps): Tensor;
  dispose?(): void;
}

/** Qwen2 with the extended vocabulary and its KV cache. */
export interface DecoderStage {
  /** ids -> embeddings [P, D] (any id below W). */
  embed(ids: Int32Array): Tensor;
  /** Makes room in the KV cache for `length` positions. */
  reserve(length: number): void;
  /** Frees the KV cache (the next reserve() allocates it again). */
  releaseCaches?(): void;
  /** x [P, D] at positions offset.. -> logits [P, W] ('all'), [1, W] ('last') or nothing ('none'). */
  forward(x: Tensor, offset: number, mode: LogitsMode, taps?: Taps): Tensor | undefined;
  /** Work done once after the weights are loaded (the extended tables). */
  prepare?(maxBindingBytes: number): void;
  dispose?(): void;
}

export interface Stages {
  vision: VisionStage;
  projector: ProjectorStage;
  lape: LapeStage;
  packer: PackerStage;
  decoder: DecoderStage;
}
export type StageName = keyof Stages;
export const STAGE_NAMES: readonly StageName[] = ['vision', 'projector', 'lape', 'packer', 'decoder'];

/** What a stage factory is given: the device, the typed config, the checkpoint's weights by name. */
export interface StageContext {
  gpu: Gpu;
  config: LlavaStConfig;
  /** Take weights by checkpoint name; only what is taken is loaded. */
  weights: WeightSource;
  dtype: ComputeDType;
  /** The six coordinate tables (LAPE, the extended vocabulary and head share them). */
  coords: CoordinateTables;
  /** Builds the built-in implementation of a stage (taking its weights), e.g. to wrap it. */
  builtIn<K extends StageName>(name: K): Stages[K];
}

export type StageFactories = { [K in StageName]?: (ctx: StageContext) => Stages[K] };

/** Dimensions the contract is written in, from the config. */
export function stageDims(c: LlavaStConfig): { N: number; Dv: number; D: number; L: number; k: number; T: number; W: number } {
  return {
    N: c.vision.grid ** 2, Dv: c.vision.hidden_size, D: c.text.hidden_size, L: c.packer.latents,
    k: c.packer.temporalFactor, T: c.packer.frames, W: c.logitsWidth,
  };
}

/** Throws a StageError unless `t` has exactly `shape` and `dtype`. */
export function checkStageOutput(stage: StageName, method: string, t: Tensor | undefined, shape: readonly number[], dtype: string, legend: string): Tensor {
  if (t === undefined || t === null || typeof (t as Partial<Tensor>).shape !== 'object') {
    throw new StageError(`stage ${stage}: ${method} returned ${String(t)}, the contract is a tensor ${legend} [${shape.join(', ')}] ${dtype}`);
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.dtype !== dtype) {
    throw new StageError(`stage ${stage}: ${method} returned [${t.shape.join(', ')}] ${t.dtype}, the contract is ${legend} [${shape.join(', ')}] ${dtype}`);
  }
  return t;
}

/** Checks that a stage object has the methods of its contract. */
export function checkStageMethods(stage: StageName, impl: unknown): void {
  const required: Record<StageName, string[]> = {
    vision: ['forwardFrames'], projector: ['forward'], lape: ['forwardFrames'], packer: ['spatial', 'temporal'],
    decoder: ['embed', 'reserve', 'forward'],
  };
  if (typeof impl !== 'object' || impl === null) throw new StageError(`stage ${stage}: the factory returned ${String(impl)}, not an object`);
  const missing = required[stage].filter((m) => typeof (impl as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new StageError(`stage ${stage}: the replacement has no ${missing.join(', ')} method (the contract: ${required[stage].join(', ')})`);
}
