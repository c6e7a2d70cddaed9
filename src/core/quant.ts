// Quantized weight storage: the one definition of the q8 and q4 layouts, and the CPU quantizer
// that fills them while a checkpoint streams in (a chunk at a time: never the whole model in f32).
//
// A [N, K] weight (rows = output features, as checkpoints store Linear weights) is cut along K into
// groups of G consecutive values (G = 32 by default, or 16, 64, 128; K % G must be 0). Each group keeps
//   scale = (max - min) / (2^bits - 1), offset = min      both rounded to f16
//   code  = clamp(round((w - offset) / scale), 0, 2^bits - 1)
// and dequantizes as w ≈ code·scale + offset (asymmetric: one formula for q8 and q4, so one kernel).
//
// GPU layout (u32 words only, so the kernels need no optional feature):
//   codes  u32 [N, K·bits/32]  q8: byte b of word w is k = 4w + b; q4: nibble i of word w is k = 8w + i
//   groups u32 [N, K/G]        low half = f16 scale, high half = f16 offset (unpack2x16float order)
// Bits per weight: q8 8 + 32/G, q4 4 + 32/G (G = 32: 9 and 5; G = 64: 8.5 and 4.5).
import { f16BitsToF32, f32ToF16Bits } from './dtype.js';
import { ShapeError } from './errors.js';

export type QuantFormat = 'q8' | 'q4';
export const QUANT_FORMATS: readonly QuantFormat[] = ['q8', 'q4'];
export const QUANT_BITS: Readonly<Record<QuantFormat, number>> = { q8: 8, q4: 4 };
/** 32 by default (the 32 or 64); 16 lets narrow test models (hidden 48) quantize too. */
export const GROUP_SIZES = [16, 32, 64, 128] as const;
export type GroupSize = (typeof GROUP_SIZES)[number];
export const DEFAULT_GROUP_SIZE: GroupSize = 32;

/** Codes per u32 word: 4 (q8) or 8 (q4). */
export function codesPerWord(format: QuantFormat): number {
  return 32 / QUANT_BITS[format];
}

/** The GPU bytes of a quantized [N, K] weight: codes plus group words. */
export function quantBytes(format: QuantFormat, N: number, K: number, group: number): { codes: number; groups: number } {
  return { codes: N * (K / codesPerWord(format)) * 4, groups: N * (K / group) * 4 };
}

/** Throws the typed error for a row length that groups do not tile. */
export function checkGroups(name: string, K: number, group: number): void {
  if (!GROUP_SIZES.includes(group as GroupSize)) throw new ShapeError(`${name}: group size ${group} is not one of ${GROUP_SIZES.join(', ')}`);
  if (K % group !== 0) throw new ShapeError(`${name}: row length ${K} is not divisible by the quantization group size ${group}`);
}

export interface QuantizedRows { codes: Uint32Array; groups: Uint32Array }

/**
 * Quantizes whole groups of `values` (length a multiple of `group`; rows of the weight laid end to
 * end, so a group never straddles a row when K % group = 0). Scale and offset are rounded to f16
 * first and the codes chosen against the rounded values, so dequantizing is exactly what was meant.
 */
export function quantizeGroups(values: Float32Array, format: QuantFormat, group: number, name = 'weight'): QuantizedRows {
  if (values.length % group !== 0) throw new ShapeError(`${name}: ${values.length} values are not a whole number of groups of ${group}`);
  const bits = QUANT_BITS[format], levels = (1 << bits) - 1, per = 32 / bits;
  const codes = new Uint32Array(values.length / per);
  const groups = new Uint32Array(values.length / group);
  for (let g = 0; g < groups.length; g++) {
    const a = g * group;
    let lo = Infinity, hi = -Infinity;
    for (let i = a; i < a + group; i++) { const v = values[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ShapeError(`${name}: group ${g} holds a non-finite value; it cannot be quantized`);
    const sBits = f32ToF16Bits((hi - lo) / levels), oBits = f32ToF16Bits(lo);
    const scale = f16BitsToF32(sBits), offset = f16BitsToF32(oBits);
    if (!Number.isFinite(scale) || !Number.isFinite(offset)) throw new ShapeError(`${name}: group ${g} spans [${lo}, ${hi}], beyond the f16 range of scales and offsets`);
    groups[g] = (sBits | (oBits << 16)) >>> 0;
    const inv = scale > 0 ? 1 / scale : 0;
    for (let i = a; i < a + group; i += per) {
      let word = 0;
      for (let j = 0; j < per; j++) {
        // floor(x + 0.5), as the GPU quantizer (wgsl/quantize.wgsl) rounds: then clamped.
        let q = Math.floor((values[i + j]! - offset) * inv + 0.5);
        q = q < 0 ? 0 : q > levels ? levels : q;
        word |= q << (j * bits);
      }
      codes[(i / per)] = word >>> 0;
    }
  }
  return { codes, groups };
}

/** The inverse: codes and group words of `n` values -> f32 (the reference every kernel is tested against). */
export function dequantizeGroups(codes: Uint32Array, groups: Uint32Array, n: number, format: QuantFormat, group: number): Float32Array {
  const bits = QUANT_BITS[format], mask = (1 << bits) - 1, per = 32 / bits;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = groups[Math.floor(i / group)]!;
    const scale = f16BitsToF32(g & 0xffff), offset = f16BitsToF32(g >>> 16);
    const q = (codes[Math.floor(i / per)]! >>> ((i % per) * bits)) & mask;
    out[i] = Math.fround(Math.fround(q * scale) + offset);
  }
  return out;
}
