// Every activation a LlavaSt can hand back, by name (nn/taps.ts is the mechanism). Names follow
// the stages and the checkpoint's module paths; a per-frame stage's captures concatenate along the
// first dimension, so a video's vision taps are [T, N, Dv] whatever the batch size.
//
// Shapes: T frames (1 for an image), N = G² tokens a frame, G grid side, Dv vision width, D LLM
// width, L packer latents a frame, k temporal factor, Bt / Bs temporal / spatial bins, P prompt
// length, W logits width. The prompt's forward only: generated tokens are not tapped.
import { InputError } from '../core/errors.js';
import type { LlavaStConfig } from './config.js';
import type { StageName } from './stages.js';

export type TapName =
  | 'vision.embeddings' | `vision.layers.${number}` | 'vision' | 'projector'
  | 'lape.temporal_table' | 'lape.height_table' | 'lape.width_table' | 'lape.height_resized' | 'lape.width_resized'
  | 'lape.temporal_used' | 'lape' | 'packer.spatial' | 'packer.slow'
  | 'inputs_embeds' | `decoder.layers.${number}` | 'decoder.norm' | 'logits';

export interface TapInfo {
  /** The name; `{i}` stands for a layer index. */
  name: string;
  /** The stage that captures it ('splice' = the prompt embeddings after splicing and injection). */
  stage: StageName | 'splice';
  shape: string;
  what: string;
}

/** Every tap, in forward order, with its shape. Only captured when asked for (no cost otherwise). */
export const TAP_NAMES: readonly TapInfo[] = [
  { name: 'vision.embeddings', stage: 'vision', shape: '[T, N, Dv]', what: 'patch embedding + position embedding' },
  { name: 'vision.layers.{i}', stage: 'vision', shape: '[T, N, Dv]', what: 'SigLIP encoder layer i output' },
  { name: 'vision', stage: 'vision', shape: '[T, N, Dv]', what: 'the vision tower output (last layer, no post-LN)' },
  { name: 'projector', stage: 'projector', shape: '[T, N, D]', what: 'mm_projector output' },
  { name: 'lape.temporal_table', stage: 'lape', shape: '[Bt, 1, D]', what: '(temporal input + output table) / 2' },
  { name: 'lape.height_table', stage: 'lape', shape: '[Bs, 1, D]', what: '(height input + output table) / 2' },
  { name: 'lape.width_table', stage: 'lape', shape: '[Bs, 1, D]', what: '(width input + output table) / 2' },
  { name: 'lape.height_resized', stage: 'lape', shape: '[G, D]', what: 'height table resampled to the grid rows' },
  { name: 'lape.width_resized', stage: 'lape', shape: '[G, D]', what: 'width table resampled to the grid columns' },
  { name: 'lape.temporal_used', stage: 'lape', shape: '[T, D]', what: 'the temporal rows added to each frame' },
  { name: 'lape', stage: 'lape', shape: '[T, N, D]', what: 'projected tokens with their positions added' },
  { name: 'packer.spatial', stage: 'packer', shape: '[T, L, D]', what: 'token_packer: each frame G×G -> √L×√L' },
  { name: 'packer.slow', stage: 'packer', shape: '[T/k, L, D]', what: 'token_packer_slow: k frames -> 1 (an image: [1, L, D])' },
  { name: 'inputs_embeds', stage: 'splice', shape: '[P, D]', what: 'decoder input: prompt embeddings, visual tokens spliced, coordinates injected' },
  { name: 'decoder.layers.{i}', stage: 'decoder', shape: '[P, D]', what: 'Qwen2 decoder layer i output' },
  { name: 'decoder.norm', stage: 'decoder', shape: '[P, D]', what: 'final RMSNorm output' },
  { name: 'logits', stage: 'decoder', shape: '[P, W]', what: 'extended-vocabulary logits of every prompt position' },
];

/** The concrete tap names of a model (layer indices expanded), in forward order. */
export function tapNamesOf(config: Pick<LlavaStConfig, 'vision' | 'text'>): TapName[] {
  const layers = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}.${i}` as TapName);
  return TAP_NAMES.flatMap((t) => {
    if (t.name === 'vision.layers.{i}') return layers('vision.layers', config.vision.layers);
    if (t.name === 'decoder.layers.{i}') return layers('decoder.layers', config.text.num_hidden_layers);
    return [t.name as TapName];
  });
}

/** Throws an InputError naming every name the model does not have. */
export function checkTapNames(names: readonly string[], config: Pick<LlavaStConfig, 'vision' | 'text'>): TapName[] {
  const known = new Set<string>(tapNamesOf(config));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new InputError(`unknown tap ${unknown.map((n) => JSON.stringify(n)).join(', ')}; this model has ${TAP_NAMES.map((t) => t.name).join(', ')} `
      + `(vision.layers.0..${config.vision.layers - 1}, decoder.layers.0..${config.text.num_hidden_layers - 1})`);
  }
  return names as TapName[];
}
