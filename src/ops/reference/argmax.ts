// Plain TypeScript oracle for argmax over rows of length N: the first maximum; NaN beats every
// number (the first NaN wins), −0 ties with +0, as torch.argmax.
export function argmaxRef(x: ArrayLike<number>, N: number): Uint32Array {
  const R = x.length / N;
  const y = new Uint32Array(R);
  for (let r = 0; r < R; r++) {
    let best = 0;
    for (let i = 1; i < N; i++) {
      const v = x[r * N + i]!, b = x[r * N + best]!;
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) best = i;
    }
    y[r] = best;
  }
  return y;
}
