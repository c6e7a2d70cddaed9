// The coordinate vocabulary of LLaVA-ST (architecture.md §5.1, §5.4), in one place: the three
// kinds of coordinate, their token words, where their tokens sit after the text vocabulary, and
// the six placeholders that carry a value into the prompt. The model (LAPE tables, extended
// vocabulary, injection) and the tasks (prompt builder, codec) both speak it.
//
//   ids [0, V)                      the text vocabulary (config vocab_size = V)
//   ids [V, V + Tb)                 <TEMP-000>..    temporal bins     model.temporal_*_embeddings
//   ids [V + Tb, V + Tb + Sb)       <HEIGHT-000>..  spatial_height    model.spatial_height_*_embeddings
//   ids [V + Tb + Sb, V + Tb + 2Sb) <WIDTH-000>..   spatial_width     model.spatial_width_*_embeddings
import type { LlavaStConfig } from './config.js';

/** A coordinate axis, named as in the checkpoint's tables (`model.{kind}_input_embeddings`). */
export type CoordinateKind = 'temporal' | 'spatial_height' | 'spatial_width';
/** In id order. */
export const COORDINATE_KINDS: readonly CoordinateKind[] = ['temporal', 'spatial_height', 'spatial_width'];

/** The word a kind is written with in tokens: <TEMP-k>, <HEIGHT-INPUT>, ... */
export type CoordinateWord = 'TEMP' | 'HEIGHT' | 'WIDTH';
export const COORDINATE_WORD: Readonly<Record<CoordinateKind, CoordinateWord>> = { temporal: 'TEMP', spatial_height: 'HEIGHT', spatial_width: 'WIDTH' };
export const KIND_OF_WORD: Readonly<Record<CoordinateWord, CoordinateKind>> = { TEMP: 'temporal', HEIGHT: 'spatial_height', WIDTH: 'spatial_width' };

/** Where the coordinate tokens sit: after `vocabSize` text ids, `bins[kind]` ids per kind in id order. */
export interface CoordinateVocab { vocabSize: number; bins: Readonly<Record<CoordinateKind, number>> }

/** The loaded checkpoint's coordinate vocabulary (config vocab_size, num_temporal_tokens, num_spatial_tokens). */
export function coordinateVocabOf(config: Pick<LlavaStConfig, 'text' | 'temporalBins' | 'spatialBins'>): CoordinateVocab {
  return { vocabSize: config.text.vocab_size, bins: { temporal: config.temporalBins, spatial_height: config.spatialBins, spatial_width: config.spatialBins } };
}

/** The first id of a kind's tokens. */
export function coordinateBase(v: CoordinateVocab, kind: CoordinateKind): number {
  let id = v.vocabSize;
  for (const k of COORDINATE_KINDS) { if (k === kind) return id; id += v.bins[k]; }
  throw new Error(`unknown coordinate kind ${String(kind)}`);
}

// ---- placeholders and their values ----------------------------------------------------------

/** INPUT placeholders stand in user turns, OUTPUT ones in assistant turns. */
export type PlaceholderMode = 'input' | 'output';
/** The reference's `variables` keys (get_variables): `${kind}_${mode}_locations`. */
export type VariableKey = `${CoordinateKind}_${PlaceholderMode}_locations`;
/**
 * Values for the coordinate placeholders, per type in order of appearance: the k-th <TEMP-INPUT>
 * of the ids takes temporal_input_locations[k], and so on (the reference's `variables` dict).
 */
export type Variables = Record<VariableKey, number[]>;

export interface Placeholder {
  /** `<TEMP-INPUT>` ... `<WIDTH-OUTPUT>`, a special token of the checkpoint. */
  token: `<${CoordinateWord}-${'INPUT' | 'OUTPUT'}>`;
  kind: CoordinateKind;
  mode: PlaceholderMode;
  key: VariableKey;
  /**
   * Whether the forward pass replaces it by its value's embedding. <WIDTH-INPUT> is not: the
   * released code's assignment is a bare expression (fixture README); reproduced on purpose.
   */
  injected: boolean;
}

/** The six placeholders, in the reference's order (get_variables, token_transfer). */
export const PLACEHOLDERS: readonly Placeholder[] = (['temporal', 'spatial_height', 'spatial_width'] as const).flatMap((kind) =>
  (['input', 'output'] as const).map((mode): Placeholder => ({
    token: `<${COORDINATE_WORD[kind]}-${mode === 'input' ? 'INPUT' : 'OUTPUT'}>`, kind, mode, key: `${kind}_${mode}_locations`,
    injected: !(kind === 'spatial_width' && mode === 'input'),
  })));

export const emptyVariables = (): Variables =>
  Object.fromEntries(PLACEHOLDERS.map((p) => [p.key, []])) as unknown as Variables;
