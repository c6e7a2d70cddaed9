// Plain TypeScript oracles for attention, region attention and the head relayouts (float64 sums,
// two-pass softmax: the straightforward formula, not the online recurrence the kernels use).

export interface AttentionRefArgs {
  Lq: number; Hq: number; Hkv: number; D: number; Lmax: number;
  kvLength: number; causal: boolean; qOffset: number; scale: number;
}

/** q [Lq, Hq, D], k/v [Hkv, Lmax, D] -> [Lq, Hq, D]. */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, a: AttentionRefArgs): Float32Array {
  const { Lq, Hq, Hkv, D, Lmax, kvLength, causal, qOffset, scale } = a;
  const G = Hq / Hkv;
  const out = new Float32Array(Lq * Hq * D);
  const s = new Float64Array(kvLength);
  for (let r = 0; r < Lq; r++) {
    const n = causal ? Math.min(kvLength, qOffset + r + 1) : kvLength;
    for (let h = 0; h < Hq; h++) {
      const qb = (r * Hq + h) * D, kv = Math.floor(h / G) * Lmax;
      let m = -Infinity;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qb + d]! * k[(kv + j) * D + d]!;
        s[j] = dot * scale;
        if (s[j]! > m) m = s[j]!;
      }
      let l = 0;
      for (let j = 0; j < n; j++) { s[j] = Math.exp(s[j]! - m); l += s[j]!; }
      for (let d = 0; d < D; d++) {
        let o = 0;
        for (let j = 0; j < n; j++) o += s[j]! * v[(kv + j) * D + d]!;
        out[qb + d] = o / l;
      }
    }
  }
  return out;
}

/** q [Nq, E], k/v [Nk, E], index [Nq, R]; H heads of E/H -> [Nq, E]. */
export function regionAttentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, index: ArrayLike<number>,
  Nq: number, E: number, R: number, H: number, scale: number): Float32Array {
  const d = E / H;
  const out = new Float32Array(Nq * E);
  const s = new Float64Array(R);
  for (let n = 0; n < Nq; n++) {
    for (let h = 0; h < H; h++) {
      const qb = n * E + h * d;
      let m = -Infinity;
      for (let r = 0; r < R; r++) {
        const kb = index[n * R + r]! * E + h * d;
        let dot = 0;
        for (let i = 0; i < d; i++) dot += q[qb + i]! * k[kb + i]!;
        s[r] = dot * scale;
        m = Math.max(m, s[r]!);
      }
      let l = 0;
      for (let r = 0; r < R; r++) { s[r] = Math.exp(s[r]! - m); l += s[r]!; }
      for (let i = 0; i < d; i++) {
        let o = 0;
        for (let r = 0; r < R; r++) o += s[r]! * v[index[n * R + r]! * E + h * d + i]!;
        out[qb + i] = o / l;
      }
    }
  }
  return out;
}

/** dst[h, off + l, :] = src[l, h, :] for src [L, H, D] into dst [H, Ldst, D] (a copy is returned). */
export function relayoutRef(src: ArrayLike<number>, L: number, H: number, D: number, dst: Float32Array, Ldst: number, off: number): Float32Array {
  const out = dst.slice();
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) out[(h * Ldst + off + l) * D + d] = src[(l * H + h) * D + d]!;
  return out;
}
