// Plain TypeScript oracle for the patch convolution (direct, float64 accumulation, one rounding).
//   pixels [T, 3, S, S], weight [C, 3, P, P], bias [C] -> [T, G·G, C]
import { roundTo, type FloatDType } from './round.js';

export function patchEmbedRef(pix: ArrayLike<number>, T: number, S: number, w: ArrayLike<number>, b: ArrayLike<number>, C: number, P: number, dtype: FloatDType = 'f32'): Float32Array {
  const G = Math.floor(S / P);
  const y = new Float32Array(T * G * G * C);
  for (let t = 0; t < T; t++) for (let gy = 0; gy < G; gy++) for (let gx = 0; gx < G; gx++) for (let c = 0; c < C; c++) {
    let acc = b[c]!;
    for (let ci = 0; ci < 3; ci++) for (let py = 0; py < P; py++) for (let px = 0; px < P; px++) {
      acc += pix[((t * 3 + ci) * S + gy * P + py) * S + gx * P + px]! * w[((c * 3 + ci) * P + py) * P + px]!;
    }
    y[((t * G + gy) * G + gx) * C + c] = roundTo(dtype, acc);
  }
  return y;
}
