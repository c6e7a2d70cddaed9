// Rounding to a storage dtype, for the references: the GPU computes in f32 and rounds to the
// storage type where the op says so; f16 rounding goes through f32 exactly as the GPU's does.
import { f16BitsToF32, f32ToF16Bits } from '../../core/dtype.js';

export type FloatDType = 'f32' | 'f16';

export function roundTo(dtype: FloatDType, x: number): number {
  return dtype === 'f32' ? Math.fround(x) : f16BitsToF32(f32ToF16Bits(x));
}
