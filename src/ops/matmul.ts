// Linear layers: y = x·Wᵀ (+ b), with W stored [out, in] as checkpoints store it.
// x [..., K] (leading dimensions are flattened into M rows), W [N, K], b [N] -> y [..., N].
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';

const TILE = 16;

export function matmulTiled(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const K = x.shape[x.rank - 1];
  if (K === undefined || w.rank !== 2 || w.shape[1] !== K) {
    throw new ShapeError(`matmul: x ${x.name} ${shapeStr(x.shape)} and W ${w.name} ${shapeStr(w.shape)} do not fit y = x·Wᵀ (need x [..., K], W [N, K])`);
  }
  const N = w.shape[0]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) throw new ShapeError(`matmul: bias ${bias.name} ${shapeStr(bias.shape)} does not match N = ${N} of W ${shapeStr(w.shape)}`);
  for (const t of [w, ...(bias ? [bias] : [])]) {
    if (t.dtype !== x.dtype) throw new DTypeError(`matmul: ${t.name} is ${t.dtype} but x ${x.name} is ${x.dtype}`);
  }
  const M = x.size / K;
  const y = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), N], x.dtype, 'matmul');
  if (y.size === 0) return y;
  const kernel = x.gpu.kernels.get({
    source: 'matmul_tiled',
    defines: {
      T: x.dtype,
      BIAS_DECL: bias ? `@group(0) @binding(4) var<storage, read> bias: array<${x.dtype}>;` : '',
      BIAS_ADD: bias ? 'acc = acc + f32(bias[col]);' : '',
    },
    ...(x.dtype === 'f16' ? { enables: ['f16'] } : {}),
  });
  const bindings = [x.binding(), w.binding(), y.binding(), ...(bias ? [bias.binding()] : [])];
  kernel.dispatch(bindings, [Math.ceil(N / TILE), Math.ceil(M / TILE)], new Uint32Array([M, N, K, 0]));
  return y;
}
