// Plain TypeScript oracle for the broadcasting binary ops.
import type { Shape } from '../../core/tensor.js';
import { numel } from '../../core/tensor.js';
import { broadcastShapes, broadcastStrides } from '../broadcast.js';

export function binaryRef(op: 'add' | 'mul' | 'sub', a: Float32Array, aShape: Shape, b: Float32Array, bShape: Shape): { data: Float32Array; shape: number[] } {
  const shape = broadcastShapes(op, aShape, bShape);
  const sa = broadcastStrides(aShape, shape);
  const sb = broadcastStrides(bShape, shape);
  const n = numel(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, ia = 0, ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      ia += c * sa[d]!;
      ib += c * sb[d]!;
    }
    const x = a[ia]!, z = b[ib]!;
    out[i] = op === 'add' ? x + z : op === 'mul' ? x * z : x - z;
  }
  return { data: out, shape };
}
