// Quantizing on the GPU (src/wgsl/quantize.wgsl): a chunk of raw checkpoint values, uploaded as u32
// words, becomes q8/q4 codes and group words written straight into a QuantTensor. The loader uses
// it as a checkpoint streams in; core/quant's quantizeGroups is its reference.
import { ShapeError } from '../core/errors.js';
import { QUANT_BITS } from '../core/quant.js';
import type { Tensor } from '../core/tensor.js';
import type { QuantTensor } from './quant_linear.js';

export type RawDType = 'BF16' | 'F16' | 'F32';

const LOAD: Record<RawDType, string> = {
  BF16: 'bitcast<f32>(select(src[e >> 1u] << 16u, src[e >> 1u] & 0xffff0000u, (e & 1u) == 1u))',
  F16: 'unpack2x16float(src[e >> 1u])[e & 1u]',
  F32: 'bitcast<f32>(src[e])',
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
  const kernel = raw.gpu.kernels.get({ source: 'quantize', defines: { BITS: QUANT_BITS[dest.format], G, LOAD: LOAD[dtype] } });
  const groups = n / G;
  kernel.dispatch([raw.binding(), dest.codes.binding(), dest.groups.binding()], Math.ceil(groups / 64),
    new Uint32Array([groups, src0, dest0 / per, dest0 / G]));
}
