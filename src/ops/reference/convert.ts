// Plain TypeScript oracles for the dtype conversions (f16 as raw bits, round to nearest even).
import { bf16BitsToF32, f32ToF16Bits, f16BitsToF32 } from '../../core/dtype.js';

export function toF16BitsRef(x: ArrayLike<number>): Uint16Array {
  const y = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f32ToF16Bits(x[i]!);
  return y;
}

export function fromF16BitsRef(bits: ArrayLike<number>): Float32Array {
  const y = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) y[i] = f16BitsToF32(bits[i]!);
  return y;
}

/** words: packed bf16, element 2k in the low half of word k. */
export function bf16ToF32Ref(words: Uint32Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = bf16BitsToF32(i % 2 === 0 ? words[i >> 1]! & 0xffff : words[i >> 1]! >>> 16);
  return y;
}
