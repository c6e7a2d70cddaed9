// Elementwise binary ops with broadcasting: add, mul (residuals, biases, gates).
import { DTypeError, LimitError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { broadcastShapes, broadcastStrides } from './broadcast.js';

const MAX_RANK = 8;
const WG = 256;

export type BinaryOp = 'add' | 'mul' | 'sub';
const EXPR: Record<BinaryOp, string> = { add: 'x + z', mul: 'x * z', sub: 'x - z' };

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: dtypes differ (${a.name} is ${a.dtype}, ${b.name} is ${b.dtype})`);
  if (a.dtype !== 'f32' && a.dtype !== 'f16') throw new DTypeError(`${op}: ${a.dtype} is not supported (f32, f16)`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (shape.length > MAX_RANK) throw new LimitError(`${op}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
  const gpu = a.gpu;
  const y = Tensor.empty(gpu, shape, a.dtype, op);
  if (y.size === 0) return y;
  const params = new Uint32Array(4 + 3 * MAX_RANK);
  params[0] = y.size;
  params[1] = shape.length;
  params.set(shape, 4);
  params.set(broadcastStrides(a.shape, shape), 4 + MAX_RANK);
  params.set(broadcastStrides(b.shape, shape), 4 + 2 * MAX_RANK);
  const kernel = gpu.kernels.get({
    source: 'binary', defines: { T: a.dtype, OP: EXPR[op] }, constants: { WG },
    ...(a.dtype === 'f16' ? { enables: ['f16'] } : {}),
  });
  kernel.dispatch([a.binding(), b.binding(), y.binding()], Math.ceil(y.size / WG), params);
  return y;
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
