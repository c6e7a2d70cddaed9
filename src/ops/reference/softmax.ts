// Plain TypeScript oracle for the row-wise softmax (float64, max subtracted).
export function softmaxRef(x: ArrayLike<number>, rows: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[r * n + i]!);
    let l = 0;
    for (let i = 0; i < n; i++) l += Math.exp(x[r * n + i]! - m);
    for (let i = 0; i < n; i++) out[r * n + i] = Math.exp(x[r * n + i]! - m) / l;
  }
  return out;
}
