// How each checkpoint tensor is stored on the GPU: the one rule that the loader (nn/weights), the
// memory plan (model/plan) and the quantized-checkpoint writer all follow, so that what the plan
// counts is what the loader allocates.
//
// The weight format is a choice apart from the compute dtype (design.md "How weights are stored"):
//   linear  Linear weights [out, in] (every matmul of the model, and lm_head): stored in the format
//           f32 | f16 | q8 | q4; a quantized one whose row length is not a multiple of the group
//           size (SigLIP's fc2, K = 4304, with groups of 32) falls back to f16 (documented fallback)
//   table   embed_tokens, gathered by id, never multiplied: f32 when the format is f32, else f16
//   other   norms, biases, coordinate tables, patch and position embeddings, the packer's in_proj:
//           small, read by many kinds of ops: the compute dtype
import type { DType } from '../core/dtype.js';
import { DTypeError } from '../core/errors.js';
import { DEFAULT_GROUP_SIZE, QUANT_FORMATS, type QuantFormat } from '../core/quant.js';

export type ComputeDType = 'f32' | 'f16';
export type WeightFormat = 'f32' | 'f16' | QuantFormat;
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'f16', 'q8', 'q4'];

/** Storage of Linear weights, group size of quantized ones, and the compute dtype. */
export interface WeightLayout { format: WeightFormat; group: number; compute: ComputeDType }

export type TensorRole = 'linear' | 'table' | 'other';

export type Storage = { kind: 'plain'; dtype: 'f32' | 'f16' } | { kind: 'quant'; format: QuantFormat; group: number };

const TABLES = [/^model\.embed_tokens\.weight$/];
const NOT_LINEAR = [/_embeddings\.weight$/, /\.position_embedding\.weight$/, /\.patch_embedding\.weight$/];

/** The role of a checkpoint tensor, from its name and rank. */
export function roleOf(name: string, rank: number): TensorRole {
  if (TABLES.some((p) => p.test(name))) return 'table';
  if (rank === 2 && name.endsWith('.weight') && !NOT_LINEAR.some((p) => p.test(name))) return 'linear';
  return 'other';
}

export function isQuantized(format: WeightFormat): format is QuantFormat {
  return (QUANT_FORMATS as readonly string[]).includes(format);
}

export function defaultLayout(compute: ComputeDType = 'f32'): WeightLayout {
  return { format: compute, group: DEFAULT_GROUP_SIZE, compute };
}

/**
 * The optional features a layout needs, as a typed error when the adapter lacks them. Quantized
 * kernels read only u32 words (no feature needed); f16 storage of Linear weights is read as u32
 * pairs too, but f16 compute, f16 tables and the f16 fallback of odd rows need shader-f16.
 */
export function checkLayoutFeatures(layout: WeightLayout, hasF16: boolean): void {
  if (hasF16) return;
  if (layout.compute === 'f16') throw new DTypeError(`compute dtype f16 needs the shader-f16 feature, which this adapter lacks (use --dtype f32)`);
  if (layout.format !== 'f32') throw new DTypeError(`--weights ${layout.format} stores the embedding table (and ${isQuantized(layout.format) ? 'rows the groups do not tile' : 'every Linear weight'}) in f16, which needs the shader-f16 feature this adapter lacks (use --weights f32)`);
}

/** How the tensor `name` of shape `shape` is stored under `layout`. */
export function storageOf(name: string, shape: readonly number[], layout: WeightLayout): Storage {
  const role = roleOf(name, shape.length);
  if (role === 'other') return { kind: 'plain', dtype: layout.compute };
  if (role === 'table') return { kind: 'plain', dtype: layout.format === 'f32' ? 'f32' : 'f16' };
  if (!isQuantized(layout.format)) return { kind: 'plain', dtype: layout.format };
  const K = shape[shape.length - 1]!;
  if (K % layout.group !== 0) return { kind: 'plain', dtype: 'f16' };
  return { kind: 'quant', format: layout.format, group: layout.group };
}

/** Element type of a plain storage, for the tensor allocator. */
export function plainDType(s: Storage): DType {
  if (s.kind !== 'plain') throw new DTypeError(`a ${s.format} weight has no single element type`);
  return s.dtype;
}
