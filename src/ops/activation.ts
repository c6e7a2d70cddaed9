// Pointwise activations, computed in f32 and rounded once to the storage type; see activation.wgsl.
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { policyFor } from './policy.js';
import { vecDefines, vecSpec } from './vector.js';

/** One pointwise call: the op's name, its inputs (same shape and dtype) and its WGSL expression
 *  (f32 math, the inputs read as va(j), vb(j); see activation.wgsl). */
export interface PointwiseCall { op: string; inputs: Tensor[]; expr: string }

/** `wg` invocations a workgroup, each over `chunk` consecutive units (contiguous runs read fastest
 *  on lavapipe; chunk 1 is the coalesced pattern of GPUs). The policy picks them (ops/policy.ts). */
export interface PointwiseParams { wg: number; chunk: number; variant?: string }

function run(op: string, inputs: Tensor[], expr: string): Tensor {
  const x = inputs[0]!;
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`${op}: ${x.name} is ${x.dtype}; only f32 and f16 are supported`);
  return policyFor(x.gpu).run('pointwise', { op, inputs, expr });
}

/** The activation kernel with explicit parameters (dtype checked by the caller). */
export function pointwiseUnits({ op, inputs, expr }: PointwiseCall, p: PointwiseParams): Tensor {
  const x = inputs[0]!;
  const gpu = x.gpu;
  const { wg: WG, chunk: CHUNK } = p;
  const y = Tensor.empty(gpu, x.shape, x.dtype, op);
  if (x.size === 0) return y;
  const vs = vecSpec(x.dtype as 'f32' | 'f16', x.size);
  const { defines, enables } = vecDefines(vs);
  const kernel = gpu.kernels.get({
    source: 'activation',
    defines: {
      ...defines, EXPR: expr, OUT: inputs.length + 1,
      B_DECL: inputs.length > 1 ? `@group(0) @binding(2) var<storage, read> b: array<${vs.ST}>;\nfn vb(j: u32) -> ${vs.VT} { return ld(b[j]); }` : '',
    },
    constants: { WG, CHUNK }, ...(enables ? { enables } : {}),
    ...(p.variant ? { label: `activation ${p.variant}` } : {}),
  });
  kernel.dispatch([...inputs.map((t) => t.binding()), y.binding()], Math.ceil(vs.NV / (WG * CHUNK)), new Uint32Array([vs.NV, 0, 0, 0]));
  return y;
}

/** GELU: 'tanh' approximation (SigLIP MLP) or exact 'erf' form (projector, packer MLPs). */
export function gelu(x: Tensor, form: 'tanh' | 'erf'): Tensor {
  if (form !== 'tanh' && form !== 'erf') throw new ShapeError(`gelu: form must be 'tanh' or 'erf', got ${String(form)}`);
  return run(`gelu_${form}`, [x], `gelu_${form}(va(j))`);
}

/** SwiGLU's gate: silu(gate) ⊙ up (arXiv 2002.05202). gate, up [..., I] -> [..., I]
 *  As Qwen2MLP in fp16: silu in f32 rounded to the storage type, then one rounded product. */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  if (gate.shape.length !== up.shape.length || gate.shape.some((d, i) => d !== up.shape[i])) {
    throw new ShapeError(`siluMul: gate ${gate.name} ${shapeStr(gate.shape)} and up ${up.name} ${shapeStr(up.shape)} differ`);
  }
  if (up.dtype !== gate.dtype) throw new DTypeError(`siluMul: up ${up.name} is ${up.dtype} but gate ${gate.name} is ${gate.dtype}`);
  return run('siluMul', [gate, up], 'ld(st(silu(va(j)))) * vb(j)');
}
