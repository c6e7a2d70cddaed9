// Row-wise softmax over the last dimension, stable for large magnitudes (max subtracted), f32 math.
//   x [..., N] -> y [..., N] (same dtype, f32 or f16). Kernel: wgsl/softmax.wgsl.
import { DTypeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { vecDefines, vecReduceDefines, vecSpec } from './vector.js';
import { rowSplitConstants, rowSplitWorkgroups, type RowSplit } from './row_split.js';
import { policyFor } from './policy.js';

/** How rows spread over invocations (the policy picks it per device and row width, ops/policy.ts). */
export interface SoftmaxParams extends RowSplit { variant?: string }

export function softmax(x: Tensor): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`softmax: ${x.name} is ${x.dtype} (f32 or f16 needed)`);
  return policyFor(x.gpu).run('softmax', { x });
}

/** The row kernel with explicit parameters (dtype checked by the caller). */
export function softmaxRows(x: Tensor, p: SoftmaxParams): Tensor {
  const y = Tensor.empty(x.gpu, x.shape, x.dtype, 'softmax');
  const N = x.shape[x.rank - 1] ?? 1;
  if (y.size === 0 || N === 0) return y;
  const rows = x.size / N;
  const vs = vecSpec(x.dtype as 'f32' | 'f16', N);
  const { defines, enables } = vecDefines(vs);
  x.gpu.kernels.get({
    source: 'softmax', defines: { ...defines, ...vecReduceDefines(vs) }, constants: rowSplitConstants(p), ...(enables ? { enables } : {}),
    ...(p.variant ? { label: `softmax ${p.variant}` } : {}),
  }).dispatch([x.binding(), y.binding()], rowSplitWorkgroups(rows, p), new Uint32Array([rows, vs.NV, 0, 0]));
  return y;
}
