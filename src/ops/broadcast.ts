// Broadcasting rules (NumPy's): align shapes at the right; each pair of dimensions must be equal
// or one of them 1.
import { ShapeError } from '../core/errors.js';
import { type Shape, shapeStr } from '../core/tensor.js';

export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dimension ${i} of the aligned shapes: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` seen from the broadcast output shape `out` (0 where broadcast). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const k = out.length - shape.length + i;
    strides[k] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

export interface Coalesced { dims: number[]; strides: number[][] }

/**
 * The same iteration with fewer dimensions: size-1 dimensions dropped, and neighbours merged
 * where every operand steps through them as through one (stride[i] = stride[i+1]·dim[i+1] for
 * all operands, 0 counting as 0·dim). [2, 3, 4] with strides (12, 4, 1) and (0, 0, 1) becomes
 * [6, 4] with (4, 1) and (0, 1).
 */
export function coalesce(dims: readonly number[], strides: readonly (readonly number[])[]): Coalesced {
  const outDims: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (d === 1) continue;
    const last = outDims.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * d)) {
      outDims[last] = outDims[last]! * d;
      strides.forEach((s, k) => { outStrides[k]![last] = s[i]!; });
    } else {
      outDims.push(d);
      strides.forEach((s, k) => outStrides[k]!.push(s[i]!));
    }
  }
  if (outDims.length === 0) return { dims: [1], strides: strides.map(() => [0]) };
  return { dims: outDims, strides: outStrides };
}
