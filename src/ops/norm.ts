// LayerNorm (affine; eps 1e-6 SigLIP, 1e-5 packer) and RMSNorm (Qwen2) over the last dimension,
// statistics in f32 whatever the storage type; see norm.wgsl (f16 rows read as packed u32 pairs).
// x [..., C], weight [C], bias [C] -> [..., C]
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { policyFor } from './policy.js';
import { rowSplitConstants, rowSplitWorkgroups, type RowSplit } from './row_split.js';
import { vecDefines, vecReduceDefines, vecSpec } from './vector.js';

/** One row-normalization call, checked. */
export interface NormCall { op: 'layerNorm' | 'rmsNorm'; x: Tensor; weight: Tensor; bias: Tensor | undefined; eps: number }

/** How rows spread over invocations (the policy picks it per device and row width, ops/policy.ts). */
export interface NormParams extends RowSplit { variant?: string }

function norm(op: 'layerNorm' | 'rmsNorm', x: Tensor, weight: Tensor, bias: Tensor | undefined, eps: number): Tensor {
  const C = x.shape[x.rank - 1];
  if (C === undefined) throw new ShapeError(`${op}: x ${x.name} ${shapeStr(x.shape)} has no last dimension`);
  for (const [what, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new ShapeError(`${op}: ${what} ${t.name} ${shapeStr(t.shape)} does not match x ${x.name} ${shapeStr(x.shape)} (need [${C}])`);
  }
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`${op}: x ${x.name} is ${x.dtype}; only f32 and f16 are supported`);
  for (const t of [weight, bias]) if (t && t.dtype !== x.dtype) throw new DTypeError(`${op}: ${t.name} is ${t.dtype} but x ${x.name} is ${x.dtype}`);
  if (!(eps >= 0)) throw new ShapeError(`${op}: eps must be a non-negative number, got ${eps}`);
  return policyFor(x.gpu).run('norm', { op, x, weight, bias, eps });
}

/** The row kernel with explicit parameters (shapes and dtypes checked by the caller). */
export function normRows({ op, x, weight, bias, eps }: NormCall, p: NormParams): Tensor {
  const C = x.shape[x.rank - 1]!;
  const gpu = x.gpu;
  const y = Tensor.empty(gpu, x.shape, x.dtype, op);
  if (x.size === 0) return y;
  const vs = vecSpec(x.dtype as 'f32' | 'f16', C);
  const rows = x.size / C;
  const { defines, enables } = vecDefines(vs);
  const entry = op === 'layerNorm' ? 'layer' : 'rms';
  const kernel = gpu.kernels.get({
    source: 'norm', entryPoint: entry, defines: { ...defines, ...vecReduceDefines(vs) },
    constants: rowSplitConstants(p), ...(enables ? { enables } : {}),
    ...(p.variant ? { label: `norm.${entry} ${p.variant}` } : {}),
  });
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 3).set([rows, vs.NV, C]);
  new Float32Array(params, 12, 1)[0] = eps;
  kernel.dispatch([x.binding(), weight.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], rowSplitWorkgroups(rows, p), new Uint8Array(params));
  return y;
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  return norm('layerNorm', x, weight, bias, eps);
}

/** Qwen2: x·rsqrt(mean(x²) + eps) in f32, cast to the storage type, then times weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return norm('rmsNorm', x, weight, undefined, eps);
}
