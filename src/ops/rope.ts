// Rotary position embedding, rotate-half layout (Qwen2): for i < D/2,
// y_i = x_i·cos − x_{i+D/2}·sin, y_{i+D/2} = x_{i+D/2}·cos + x_i·sin, angle = pos·θ^(−2i/D) in f32.
// x [L, H, D], position of row l = offset + l -> [L, H, D]
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';

const WG = 64;
/** Positions are exact in f32 and reduce accurately (rope.wgsl) below this. */
export const ROPE_MAX_POSITION = 1 << 15;

/** inv_freq_j = 1/θ^(2j/D) exactly as transformers computes it in f32: the exponent 2j/D rounded to
 *  f32, the power rounded to f32 (torch's powf is correctly rounded here; float64 then fround is),
 *  then an f32 division. The same values feed the kernel and the reference. */
export function ropeInvFreq(dim: number, theta: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) {
    const e = Math.fround((2 * j) / dim);
    out[j] = Math.fround(1 / Math.fround(Math.pow(theta, e)));
  }
  return out;
}

/** Mantissa bits and minimum exponent of the float the cos/sin tables are rounded to. */
const TABLE_FORMAT = { f32: [23, -126], bf16: [7, -126], f16: [10, -14] } as const;
export type RopeTableDType = keyof typeof TABLE_FORMAT;

/**
 * tableDtype: the reference (transformers 4.40) caches cos/sin in the dtype the model is built in,
 * so a bf16 or f16 checkpoint rotates with cos/sin rounded to that type even when it computes in f32.
 */
export function rope(x: Tensor, opts: { offset: number; theta: number; tableDtype?: RopeTableDType }): Tensor {
  if (x.rank !== 3 || x.shape[2]! % 2 !== 0) throw new ShapeError(`rope: x ${x.name} ${shapeStr(x.shape)} is not [L, H, D] with an even D`);
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`rope: x ${x.name} is ${x.dtype}; only f32 and f16 are supported`);
  const [L, H, D] = x.shape as [number, number, number];
  const { offset, theta } = opts;
  if (!Number.isInteger(offset) || offset < 0 || offset + L > ROPE_MAX_POSITION) {
    throw new ShapeError(`rope: positions ${offset}..${offset + L - 1} of x ${x.name} ${shapeStr(x.shape)} must lie in [0, ${ROPE_MAX_POSITION})`);
  }
  if (!(theta > 1)) throw new ShapeError(`rope: theta must be > 1, got ${theta}`);
  const gpu = x.gpu;
  const y = Tensor.empty(gpu, x.shape, x.dtype, 'rope');
  if (x.size === 0) return y;
  const half = D / 2, NV = Math.ceil(half / 4);
  const params = new ArrayBuffer(16 + NV * 16);
  new Uint32Array(params, 0, 4).set([L, H, half, offset]);
  new Float32Array(params, 16, half).set(ropeInvFreq(D, theta));
  const kernel = gpu.kernels.get({
    source: 'rope', defines: { T: x.dtype, NV, TABLE_MBITS: TABLE_FORMAT[opts.tableDtype ?? 'f32'][0], TABLE_EMIN: TABLE_FORMAT[opts.tableDtype ?? 'f32'][1] }, constants: { WG }, ...(x.dtype === 'f16' ? { enables: ['f16'] } : {}),
  });
  kernel.dispatch([x.binding(), y.binding()], Math.ceil((L * half) / WG), new Uint8Array(params));
  return y;
}
