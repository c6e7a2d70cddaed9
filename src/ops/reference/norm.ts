// Plain TypeScript oracles for LayerNorm and RMSNorm (float64 statistics). x is [R, C] row-major.
import { roundTo, type FloatDType } from './round.js';

export function layerNormRef(x: ArrayLike<number>, C: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number, dtype: FloatDType = 'f32'): Float32Array {
  const R = x.length / C;
  const y = new Float32Array(x.length);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c]!;
    const mean = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (x[r * C + c]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = roundTo(dtype, (x[r * C + c]! - mean) * rstd * w[c]! + b[c]!);
  }
  return y;
}

/** Qwen2 order: the normalized value is rounded to the storage type before the weight multiplies it. */
export function rmsNormRef(x: ArrayLike<number>, C: number, w: ArrayLike<number>, eps: number, dtype: FloatDType = 'f32'): Float32Array {
  const R = x.length / C;
  const y = new Float32Array(x.length);
  for (let r = 0; r < R; r++) {
    let q = 0;
    for (let c = 0; c < C; c++) q += x[r * C + c]! ** 2;
    const rs = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = roundTo(dtype, roundTo(dtype, x[r * C + c]! * rs) * w[c]!);
  }
  return y;
}
