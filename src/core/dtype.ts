// Element types of GPU tensors. f16 lives in a Uint16Array of raw half bits on the CPU side
// (Node 20 has no Float16Array); bf16 exists only as a storage format on load (core/upload).
import { DTypeError } from './errors.js';

export type DType = 'f32' | 'f16' | 'i32' | 'u32';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'u32'];

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, f16: 2, i32: 4, u32: 4 };

/** The CPU-side array type a dtype reads back into. */
export type HostArray<D extends DType = DType> =
  D extends 'f32' ? Float32Array : D extends 'f16' ? Uint16Array : D extends 'i32' ? Int32Array : Uint32Array;

export function hostArray(dtype: DType, buffer: ArrayBuffer, byteOffset = 0, length?: number): HostArray {
  switch (dtype) {
    case 'f32': return new Float32Array(buffer, byteOffset, length);
    case 'f16': return new Uint16Array(buffer, byteOffset, length);
    case 'i32': return new Int32Array(buffer, byteOffset, length);
    case 'u32': return new Uint32Array(buffer, byteOffset, length);
  }
}

export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Uint16Array) return 'f16';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint32Array) return 'u32';
  throw new DTypeError(`cannot infer a tensor dtype from ${data.constructor.name}: use Float32Array, Uint16Array (f16 bits), Int32Array or Uint32Array`);
}

// --- half and bfloat16 conversions (round to nearest even, as the hardware does) ---

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000; // subnormal: shift the implicit bit in, then round
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: correct
  return sign | r;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]!);
  return out;
}

export function fromF16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]!);
  return out;
}

/** bf16 is the top half of an f32: widening is a shift. */
export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}
