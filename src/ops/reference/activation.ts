// Plain TypeScript oracles for the activations, in float64, rounded once to the storage type
// (siluMul rounds silu first, as Qwen2MLP in fp16 does).
import { roundTo, type FloatDType } from './round.js';

/** erf in float64 to ~1e-14: Maclaurin series for |x| < 3, Lentz-style continued fraction of erfc beyond. */
export function erf64(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; n < 80; n++) {
      term *= -(a * a) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = a;
  for (let n = 80; n >= 1; n--) k = a + (n / 2) / k;
  return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * k));
}

/** erfc(|x|/√2)-based so that the negative tail keeps relative accuracy. */
function erfcHalf(a: number): number {
  if (a / Math.SQRT2 < 3) return 1 - erf64(a / Math.SQRT2);
  const z = a / Math.SQRT2;
  let k = z;
  for (let n = 80; n >= 1; n--) k = z + (n / 2) / k;
  return Math.exp(-z * z) / (Math.sqrt(Math.PI) * k);
}

export function geluRef(x: ArrayLike<number>, form: 'tanh' | 'erf', dtype: FloatDType = 'f32'): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const g = form === 'tanh'
      ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
      : v >= 0 ? v * (1 - 0.5 * erfcHalf(v)) : v * 0.5 * erfcHalf(-v);
    y[i] = roundTo(dtype, g);
  }
  return y;
}

export function siluMulRef(gate: ArrayLike<number>, up: ArrayLike<number>, dtype: FloatDType = 'f32'): Float32Array {
  const y = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    y[i] = roundTo(dtype, roundTo(dtype, g / (1 + Math.exp(-g))) * up[i]!);
  }
  return y;
}
