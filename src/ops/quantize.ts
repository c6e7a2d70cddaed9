// Quantizing on the GPU (src/wgsl/quantize.wgsl): a chunk of raw checkpoint values, uploaded as u32
// words, becomes q8/q4 codes and group words written straight into a QuantTensor. The loader uses
// it as a checkpoint streams in; core/quant's quantizeGroups is its reference.
import { ShapeError } from '../core/errors.js';
import { QUANT_BITS } from '../core/quant.js';
import type { Tensor } from '../core/tensor.js';
import type { QuantTensor } from './quant_linear.js';

export type RawDType = 'BF16' | 'F16' | 'F32';

/** How the vec4<u32> source word v becomes vals[...]: 8 values of a 16-bit dtype, 4 of f32. */
const UNPACK: Record<RawDType, { UNPACK: string; PACKED: number }> = {
  BF16: { UNPACK: 'vals[2u * j] = bf16x4(v.xy); vals[2u * j + 1u] = bf16x4(v.zw);', PACKED: 2 },
  F16: { UNPACK: 'vals[2u * j] = f16x4(v.xy); vals[2u * j + 1u] = f16x4(v.zw);', PACKED: 2 },
  F32: { UNPACK: 'vals[j] = bitcast<vec4<f32>>(v);', PACKED: 1 },
};

/**
 * Quantizes source elements [src0, src0 + n) of `raw` (u32 words holding `dtype` values) into
 * elements [dest0, dest0 + n) of `dest`. n and both starts must be whole groups.
 */
export function quantizeInto(raw: Tensor, dtype: RawDType, src0: number, n: number, dest: QuantTensor, dest0: number): void {
  const G = dest.group, per = 32 / QUANT_BITS[dest.format];
  if (raw.dtype !== 'u32') throw new ShapeError(`quantizeInto: raw ${raw.name} must be u32 words`);
  if (n % G || src0 % G || dest0 % G) throw new ShapeError(`quantizeInto: ${dest.name}: [${src0}, +${n}) -> ${dest0} is not whole groups of ${G}`);
  const perWord = dtype === 'F32' ? 1 : 2;
  if ((src0 + n) > raw.size * perWord || dest0 + n > dest.shape[0] * dest.shape[1]) throw new ShapeError(`quantizeInto: ${dest.name}: range past the end of ${raw.name} or the weight`);
  if (n === 0) return;
  // The kernel reads whole vec4<u32> words (16 B) of the source: binding sizes past 16 B multiples are cut.
  if (raw.byteSize % 16 !== 0) throw new ShapeError(`quantizeInto: raw ${raw.name} is ${raw.byteSize} B; it must be a multiple of 16 B (vec4 loads)`);
  const kernel = raw.gpu.kernels.get({ source: 'quantize', defines: { BITS: QUANT_BITS[dest.format], G, ...UNPACK[dtype] } });
  const groups = n / G;
  kernel.dispatch([raw.binding(), dest.codes.binding(), dest.groups.binding()], Math.ceil(groups / 64),
    new Uint32Array([groups, src0, dest0 / per, dest0 / G]));
}
