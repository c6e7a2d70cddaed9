// Plain TypeScript oracles for the row gathers. table is [V, C] row-major.
import { roundTo, type FloatDType } from './round.js';

/** Ids outside [0, V) clamp to the nearest row, as the kernel documents. */
export function gatherRef(table: ArrayLike<number>, C: number, ids: ArrayLike<number>, dtype: FloatDType = 'f32'): Float32Array {
  const V = table.length / C;
  const y = new Float32Array(ids.length * C);
  for (let r = 0; r < ids.length; r++) {
    const id = Math.min(Math.max(ids[r]!, 0), V - 1);
    for (let c = 0; c < C; c++) y[r * C + c] = roundTo(dtype, table[id * C + c]!);
  }
  return y;
}

/** (1 − w)·a + w·b with f32 operations, rounded to the storage type. */
export function lerpRowsRef(table: ArrayLike<number>, C: number, i0: readonly number[], i1: readonly number[], w: readonly number[], dtype: FloatDType = 'f32'): Float32Array {
  const f = Math.fround;
  const y = new Float32Array(i0.length * C);
  for (let r = 0; r < i0.length; r++) {
    const wr = f(w[r]!), wl = f(1 - wr);
    for (let c = 0; c < C; c++) y[r * C + c] = roundTo(dtype, f(f(wl * table[i0[r]! * C + c]!) + f(wr * table[i1[r]! * C + c]!)));
  }
  return y;
}
