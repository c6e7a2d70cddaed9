// Row-wise softmax over the last dimension, stable for large magnitudes (max subtracted), f32 math.
//   x [..., N] -> y [..., N] (same dtype, f32 or f16). Kernel: wgsl/softmax.wgsl, one invocation a row.
import { DTypeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { vecDefines, vecSpec } from './vector.js';
import { policyFor } from './policy.js';

/** `wg` rows a workgroup (the policy picks it per device, ops/policy.ts). */
export interface SoftmaxParams { wg: number; variant?: string }

export function softmax(x: Tensor): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`softmax: ${x.name} is ${x.dtype} (f32 or f16 needed)`);
  return policyFor(x.gpu).run('softmax', { x });
}

/** The row kernel with explicit parameters (dtype checked by the caller). */
export function softmaxRows(x: Tensor, p: SoftmaxParams): Tensor {
  const WG = p.wg;
  const y = Tensor.empty(x.gpu, x.shape, x.dtype, 'softmax');
  const N = x.shape[x.rank - 1] ?? 1;
  if (y.size === 0 || N === 0) return y;
  const rows = x.size / N;
  const vs = vecSpec(x.dtype as 'f32' | 'f16', N);
  const w = N / vs.NV;
  const lanes = ['x', 'y', 'z', 'w'].slice(0, w).map((c) => (w === 1 ? 'a' : `a.${c}`));
  const HMAX = lanes.reduce((acc, c) => `max(${acc}, ${c})`);
  const { defines, enables } = vecDefines(vs);
  x.gpu.kernels.get({
    source: 'softmax', defines: { ...defines, HMAX, HSUM: lanes.join(' + ') }, constants: { WG }, ...(enables ? { enables } : {}),
    ...(p.variant ? { label: `softmax ${p.variant}` } : {}),
  }).dispatch([x.binding(), y.binding()], Math.ceil(rows / WG), new Uint32Array([rows, vs.NV, 0, 0]));
  return y;
}
