// Plain TypeScript oracle for rotate-half RoPE. The angle is the same f32 value the kernel forms
// (f32 position × f32 inv_freq, one f32 rounding); cos and sin of it are taken in float64.
import { ropeInvFreq } from '../rope.js';
import { roundTo, type FloatDType } from './round.js';

export function ropeRef(x: ArrayLike<number>, L: number, H: number, D: number, offset: number, theta: number, dtype: FloatDType = 'f32'): Float32Array {
  const inv = ropeInvFreq(D, theta);
  const half = D / 2;
  const y = new Float32Array(x.length);
  const r = (v: number) => roundTo(dtype, v);
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < half; j++) {
      const a = Math.fround(Math.fround(offset + l) * inv[j]!);
      const c = r(Math.cos(a)), s = r(Math.sin(a));
      for (let h = 0; h < H; h++) {
        const e = (l * H + h) * D + j;
        const x0 = x[e]!, x1 = x[e + half]!;
        y[e] = r(r(x0 * c) - r(x1 * s));
        y[e + half] = r(r(x1 * c) + r(x0 * s));
      }
    }
  }
  return y;
}
