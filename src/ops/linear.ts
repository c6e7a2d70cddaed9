// Linear layers y = x·Wᵀ (+ b), W stored [out, in] as checkpoints store it. GEMM for many rows
// (prefill, vision), GEMV for a few (decode); the variant of each is the kernel policy's (ops/policy.ts).
// Weights larger than maxStorageBufferBindingSize are SplitWeights (row chunks), handled here.
//
// x [..., K] f32|f16, W [N, K] f32|f16 (f16 weights accumulate in f32), b [N] -> y [..., N] (x's dtype)
import type { Gpu } from '../core/device.js';
import { BYTES_PER_ELEMENT, type DType } from '../core/dtype.js';
import { DTypeError, LimitError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { checkLinear, type RegPart } from './matmul.js';
import { GEMV_MAX_ROWS, policyFor } from './policy.js';
import { QuantTensor, type QuantPart } from './quant_linear.js';

/** One row chunk of a weight: plain (f32/f16) or quantized (q8/q4, ops/quant_linear). */
export type WeightPart = Tensor | QuantTensor;

/** A [N, K] weight stored as row chunks, each within maxStorageBufferBindingSize. */
export class SplitWeight {
  constructor(readonly parts: WeightPart[], readonly shape: readonly [number, number], readonly name: string) {}
  get disposed(): boolean { return this.parts.every((p) => p.disposed); }
  dispose(): void { for (const p of this.parts) p.dispose(); }
}

export type Weight = Tensor | SplitWeight | QuantTensor;

/**
 * Row counts of the parts a [N, K] weight of `dtype` must be split into so that each part binds
 * within maxBytes (default: the device's maxStorageBufferBindingSize). One part if it fits.
 * Parts are as equal as possible, so that no dispatch is a tiny remainder.
 */
export function splitRows(gpu: Gpu, N: number, K: number, dtype: DType, maxBytes = gpu.limits.maxStorageBufferBindingSize): number[] {
  const rowBytes = K * BYTES_PER_ELEMENT[dtype];
  if (N === 0 || rowBytes === 0) return [N];
  // Part sizes are rounded up to 4 bytes when bound (f16 with odd row counts): keep that margin.
  const maxRows = Math.floor((maxBytes - 4) / rowBytes);
  if (maxRows < 1) throw new LimitError(`splitRows: one row of ${K} ${dtype} (${rowBytes} B) exceeds the binding limit ${maxBytes} B`);
  if (N * rowBytes <= maxBytes) return [N];
  const parts = Math.ceil(N / maxRows);
  const base = Math.floor(N / parts), extra = N % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Splits a host [N, K] weight into GPU row chunks (tests and loaders holding the whole array).
 * Returns a plain Tensor when one part suffices.
 */
export function uploadWeight(gpu: Gpu, data: Float32Array | Uint16Array, shape: readonly [number, number], dtype: 'f32' | 'f16', name: string, maxBytes?: number): Weight {
  const [N, K] = shape;
  const rows = splitRows(gpu, N, K, dtype, maxBytes);
  if (rows.length === 1) return Tensor.fromArray(gpu, data, shape, dtype, name);
  let r0 = 0;
  const parts = rows.map((r, i) => {
    const t = Tensor.fromArray(gpu, data.subarray(r0 * K, (r0 + r) * K), [r, K], dtype, `${name}[part ${i}]`);
    r0 += r;
    return t;
  });
  return new SplitWeight(parts, shape, name);
}

export function linear(x: Tensor, w: Weight, bias?: Tensor): Tensor {
  const parts: readonly WeightPart[] = w instanceof SplitWeight ? w.parts : [w];
  const { M, N } = checkLinear('linear', x, w.shape, w.name, bias);
  if (x.shape[x.rank - 1] === 0) throw new ShapeError(`linear: K = 0 (x ${x.name} ${shapeStr(x.shape)})`);
  if (parts.length === 0) throw new ShapeError(`linear: SplitWeight ${w.name} has no parts`);
  let rows = 0;
  const regParts: RegPart[] = [];
  const quantParts: QuantPart[] = [];
  for (const part of parts) {
    if (part instanceof QuantTensor) {
      if (part.shape[1] !== w.shape[1]) throw new ShapeError(`linear: part ${part.name} ${shapeStr(part.shape)} of ${w.name} ${shapeStr(w.shape)} is not a row chunk`);
      const limit = x.gpu.limits.maxStorageBufferBindingSize;
      if (part.codes.byteSize > limit) throw new LimitError(`linear: quantized weight ${part.name} ${shapeStr(part.shape)} is ${part.codes.byteSize} B of codes, over maxStorageBufferBindingSize ${limit} B; load it as a SplitWeight`);
      quantParts.push({ w: part, ycol0: rows, bcol0: rows });
      rows += part.shape[0];
      continue;
    }
    if (part.dtype !== 'f32' && part.dtype !== 'f16') throw new DTypeError(`linear: W ${part.name} is ${part.dtype}; f32 or f16 expected`);
    if (regParts.length > 0 && part.dtype !== regParts[0]!.w.dtype) throw new DTypeError(`linear: parts of ${w.name} mix ${regParts[0]!.w.dtype} and ${part.dtype}`);
    if (part.rank !== 2 || part.shape[1] !== w.shape[1]) throw new ShapeError(`linear: part ${part.name} ${shapeStr(part.shape)} of ${w.name} ${shapeStr(w.shape)} is not a row chunk`);
    // Over-limit parts are refused here, before any GPU work, with the tensor's name.
    const limit = x.gpu.limits.maxStorageBufferBindingSize;
    if (part.byteSize > limit) throw new LimitError(`linear: weight ${part.name} ${shapeStr(part.shape)} ${part.dtype} is ${part.byteSize} B, over maxStorageBufferBindingSize ${limit} B; load it as a SplitWeight (splitRows)`);
    regParts.push({ w: part, ycol0: rows, bcol0: rows });
    rows += part.shape[0]!;
  }
  if (rows !== N) throw new ShapeError(`linear: the parts of ${w.name} have ${rows} rows, its shape ${shapeStr(w.shape)} says ${N}`);
  for (const t of [x, ...(bias ? [bias] : [])]) {
    if (t.byteSize > x.gpu.limits.maxStorageBufferBindingSize) throw new LimitError(`linear: ${t.name} ${shapeStr(t.shape)} is ${t.byteSize} B, over maxStorageBufferBindingSize`);
  }
  const y = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), N], x.dtype, 'linear');
  if (y.size === 0) return y;
  if (y.byteSize > x.gpu.limits.maxStorageBufferBindingSize) {
    y.dispose();
    throw new LimitError(`linear: the output [${M}, ${N}] ${x.dtype} exceeds maxStorageBufferBindingSize; split x's rows`);
  }
  const K = w.shape[1];
  const policy = policyFor(x.gpu), gemv = M <= GEMV_MAX_ROWS;
  if (regParts.length > 0) policy.run(gemv ? 'gemv' : 'gemm', { x, parts: regParts, y, bias, M, K });
  if (quantParts.length > 0) policy.run(gemv ? 'qgemv' : 'qgemm', { x, parts: quantParts, y, bias, M, K });
  return y;
}
