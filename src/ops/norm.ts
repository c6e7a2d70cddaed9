// LayerNorm (affine; eps 1e-6 SigLIP, 1e-5 packer) and RMSNorm (Qwen2) over the last dimension,
// statistics in f32 whatever the storage type; see norm.wgsl.
// x [..., C], weight [C], bias [C] -> [..., C]
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { policyFor } from './policy.js';

/** One row-normalization call, checked. */
export interface NormCall { op: 'layerNorm' | 'rmsNorm'; x: Tensor; weight: Tensor; bias: Tensor | undefined; eps: number }

/** One workgroup a row, `wg` lanes over it (the policy picks wg per device, ops/policy.ts). */
export interface NormParams { wg: number; variant?: string }

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
  const vec = C % 4 === 0;
  const VT = vec ? `vec4<${x.dtype}>` : x.dtype;
  const rows = x.size / C;
  const kernel = gpu.kernels.get({
    source: 'norm', entryPoint: op === 'layerNorm' ? 'layer' : 'rms',
    defines: { VT, F: vec ? 'vec4<f32>' : 'f32', HSUM: vec ? 'v.x + v.y + v.z + v.w' : 'v', FIRST: vec ? 'f32(x[base].x)' : 'f32(x[base])' },
    constants: { WG: p.wg }, ...(x.dtype === 'f16' ? { enables: ['f16'] } : {}),
    ...(p.variant ? { label: `norm.${op === 'layerNorm' ? 'layer' : 'rms'} ${p.variant}` } : {}),
  });
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 3).set([rows, vec ? C / 4 : C, C]);
  new Float32Array(params, 12, 1)[0] = eps;
  kernel.dispatch([x.binding(), weight.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], rows, new Uint8Array(params));
  return y;
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  return norm('layerNorm', x, weight, bias, eps);
}

/** Qwen2: x·rsqrt(mean(x²) + eps) in f32, cast to the storage type, then times weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return norm('rmsNorm', x, weight, undefined, eps);
}
