// Elementwise binary ops with broadcasting: add, mul (residuals, biases, gates).
import { DTypeError, LimitError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { broadcastShapes, broadcastStrides, coalesce } from './broadcast.js';
import { vecDefines, vecSpec, vectorWidth } from './vector.js';

const MAX_OUTER = 8;
const WG = 64;
const CHUNK = 16;

export type BinaryOp = 'add' | 'mul' | 'sub';
const EXPR: Record<BinaryOp, string> = { add: 'x + z', mul: 'x * z', sub: 'x - z' };

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: dtypes differ (${a.name} is ${a.dtype}, ${b.name} is ${b.dtype})`);
  if (a.dtype !== 'f32' && a.dtype !== 'f16') throw new DTypeError(`${op}: ${a.dtype} is not supported (f32, f16)`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const gpu = a.gpu;
  const y = Tensor.empty(gpu, shape, a.dtype, op);
  if (y.size === 0) return y;
  // Coalesce, then split off the innermost dimension; the inner strides must be 0 or 1.
  let { dims, strides } = coalesce(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  if (strides.some((s) => s[s.length - 1]! > 1)) {
    dims = [...dims, 1];
    strides = strides.map((s) => [...s, 0]);
  }
  const inner = dims[dims.length - 1]!, outer = dims.slice(0, -1);
  if (outer.length > MAX_OUTER) throw new LimitError(`${op}: ${outer.length + 1} dimensions after coalescing exceed the supported ${MAX_OUTER + 1}`);
  // Vectors along the inner dimension where both inputs run along it (a broadcast scalar there
  // would need a splat per unit); then every outer stride is a multiple of the width too.
  const width = strides.every((s) => s.at(-1) === 1) ? vectorWidth(inner) : 1;
  const vs = vecSpec(a.dtype, width);
  const units = inner / width;
  const runsPerRow = Math.ceil(units / CHUNK);
  const runs = (y.size / inner) * runsPerRow;
  const params = new Uint32Array(8 + 3 * MAX_OUTER);
  params.set([runs, units, runsPerRow, outer.length, strides[0]!.at(-1)!, strides[1]!.at(-1)!]);
  params.set(outer, 8);
  params.set(strides[0]!.slice(0, -1).map((s) => s / width), 8 + MAX_OUTER);
  params.set(strides[1]!.slice(0, -1).map((s) => s / width), 8 + 2 * MAX_OUTER);
  const { defines, enables } = vecDefines(vs);
  const kernel = gpu.kernels.get({ source: 'binary', defines: { ...defines, OP: EXPR[op] }, constants: { WG, CHUNK }, ...(enables ? { enables } : {}) });
  kernel.dispatch([a.binding(), b.binding(), y.binding()], Math.ceil(runs / WG), params);
  return y;
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
