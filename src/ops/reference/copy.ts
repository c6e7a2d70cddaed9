// Plain TypeScript oracles for the row copies on flat host arrays with `row` elements a row.
export function sliceRowsRef<A extends { slice(s: number, e: number): A }>(x: A, row: number, start: number, end: number): A {
  return x.slice(start * row, end * row);
}

export function concatRowsRef(parts: ArrayLike<number>[]): number[] {
  return parts.flatMap((p) => Array.from(p));
}
