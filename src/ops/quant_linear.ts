// Linear layers over quantized weights: y = x·dequant(W)ᵀ (+ b), W a QuantTensor (q8 or q4 codes
// and per-group scale/offset words, layout in core/quant.ts). Two ways, both candidates of the
// kernel policy (ops/policy.ts: qgemv for decode, qgemm for prefill and vision):
//   recordQuant    dequantizes inside the kernel (src/wgsl/matmul_quant.wgsl): a weight is read once
//                  at BITS/8 bytes, the right thing when the weight's bytes are the cost (GEMV);
//   recordScratch  dequantizes row chunks into a scratch f32 tensor (ops/dequantize) and runs the
//                  policy's float GEMM on each: for many rows the dequantizing is paid once per weight,
//                  not once per row tile, and the GEMM is the best float one this device has.
// linear() hands the quantized parts of a weight to the policy, so a SplitWeight may mix quantized
// row chunks with plain ones (the 7B head plus its f32 coordinate rows).
//
// x [..., K] f32|f16, W [N, K] q8|q4, b [N] f32|f16 -> y [..., N] (x's dtype), f32 accumulation.
import type { Gpu } from '../core/device.js';
import { DTypeError, LimitError, OwnershipError, ShapeError } from '../core/errors.js';
import type { KernelSpec } from '../core/kernel.js';
import { QUANT_BITS, checkGroups, codesPerWord, quantizeGroups, type QuantFormat } from '../core/quant.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { checkLinear } from './matmul.js';
import { GEMV_MAX_ROWS, policyFor } from './policy.js';
import { dequantizeInto } from './dequantize.js';

/** A quantized [N, K] weight: codes u32 [N, K·bits/32] and group words u32 [N, K/group]. */
export class QuantTensor {
  constructor(
    readonly codes: Tensor,
    readonly groups: Tensor,
    readonly shape: readonly [number, number],
    readonly format: QuantFormat,
    readonly group: number,
    readonly name: string,
  ) {
    const [N, K] = shape;
    if (codes.dtype !== 'u32' || groups.dtype !== 'u32') throw new DTypeError(`${name}: quantized codes and groups must be u32 tensors`);
    if (codes.size !== N * K / codesPerWord(format) || groups.size !== N * K / group) {
      throw new ShapeError(`${name}: codes ${shapeStr(codes.shape)} and groups ${shapeStr(groups.shape)} do not hold a ${format} [${N}, ${K}] weight in groups of ${group}`);
    }
  }
  get gpu(): Gpu { return this.codes.gpu; }
  get byteSize(): number { return this.codes.byteSize + this.groups.byteSize; }
  get disposed(): boolean { return this.codes.disposed; }
  dispose(): void { this.codes.dispose(); this.groups.dispose(); }

  /** Empty GPU storage for a [N, K] weight (filled by the loader); K must be a multiple of group. */
  static empty(gpu: Gpu, shape: readonly [number, number], format: QuantFormat, group: number, name: string): QuantTensor {
    const [N, K] = shape;
    checkGroups(name, K, group);
    return new QuantTensor(
      Tensor.empty(gpu, [N, K / codesPerWord(format)], 'u32', `${name}:codes`, { exact: true }),
      Tensor.empty(gpu, [N, K / group], 'u32', `${name}:groups`, { exact: true }), shape, format, group, name);
  }

  /** Quantizes a host [N, K] f32 weight and uploads it (tests and benchmarks). */
  static fromArray(gpu: Gpu, w: Float32Array, shape: readonly [number, number], format: QuantFormat, group: number, name: string): QuantTensor {
    const [N, K] = shape;
    checkGroups(name, K, group);
    if (w.length !== N * K) throw new ShapeError(`${name}: ${w.length} values for shape ${shapeStr(shape)}`);
    const q = quantizeGroups(w, format, group, name);
    return new QuantTensor(
      Tensor.fromArray(gpu, q.codes, [N, K / codesPerWord(format)], 'u32', `${name}:codes`),
      Tensor.fromArray(gpu, q.groups, [N, K / group], 'u32', `${name}:groups`), shape, format, group, name);
  }
}

/** Tile of one matmul_quant specialization (see matmul_reg's RegConfig for the reasons). */
export interface QuantConfig { tm: number; tn: number; wg: number; subgroups?: boolean; variant?: string }

export interface QuantPart { w: QuantTensor; ycol0: number; bcol0: number }

/** What linear() hands the policy's qgemm/qgemv variants: the quantized parts of one weight. */
export interface QuantCall { x: Tensor; parts: readonly QuantPart[]; y: Tensor; bias?: Tensor | undefined; M: number; K: number }

/** The scratch variant: how many bytes of dequantized f32 rows one chunk may take. */
export interface ScratchParams { maxBytes: number; variant?: string }

function kernelSpec(gpu: Gpu, xd: 'f32' | 'f16', yd: 'f32' | 'f16', bd: 'f32' | 'f16' | undefined, format: QuantFormat, cfg: QuantConfig): KernelSpec {
  const sub = (cfg.subgroups ?? gpu.hasSubgroups) && gpu.hasSubgroups;
  const bits = QUANT_BITS[format];
  return {
    source: 'matmul_quant',
    defines: {
      TM: cfg.tm, TN: cfg.tn, WG: cfg.wg, BITS: bits, Q: 32 / bits / 4, YT: yd,
      // f16 x is read as u32 pairs, so only an f16 output needs shader-f16.
      XS: xd === 'f32' ? 'vec4<f32>' : 'vec2<u32>',
      LDX: xd === 'f32' ? 'x[i]' : 'vec4<f32>(unpack2x16float(x[i].x), unpack2x16float(x[i].y))',
      BIAS: !bd ? '0.0' : bd === 'f32' ? 'bias[n]' : 'unpack2x16float(bias[n >> 1u])[n & 1u]',
      BIAS_DECL: bd ? `@group(0) @binding(5) var<storage, read> bias: array<${bd === 'f32' ? 'f32' : 'u32'}>;` : '',
      RED_DECL: sub ? ', @builtin(subgroup_invocation_id) sid: u32' : '',
      RED: sub
        ? 'let s = subgroupAdd(v); red[(i * TN + j) * WG + lid] = select(0.0, s, sid == 0u);'
        : 'red[(i * TN + j) * WG + lid] = v;',
    },
    enables: [...(yd === 'f16' ? ['f16'] : []), ...(sub ? ['subgroups'] : [])],
    ...(cfg.variant ? { label: `matmul_quant ${cfg.variant}` } : {}),
  };
}

/** The parts' shapes against x, before any GPU work. */
function checkParts(x: Tensor, parts: readonly QuantPart[], K: number): void {
  for (const { w } of parts) {
    if (w.disposed) throw new OwnershipError(`linear: quantized weight ${w.name} was disposed`);
    if (w.shape[1] !== K) throw new ShapeError(`linear: x ${x.name} ${shapeStr(x.shape)} and W ${w.name} ${shapeStr(w.shape)} do not fit y = x·Wᵀ`);
  }
}

/**
 * Records y[:, part columns] = x·dequant(Wpart)ᵀ (+ bias slice) for each part into an existing
 * y [M, ldy], dequantizing inside the kernel. Shapes of x, y and bias must have been checked by
 * the caller (linear, quantLinear).
 */
export function recordQuant(x: Tensor, parts: readonly QuantPart[], y: Tensor, bias: Tensor | undefined, chosen: QuantConfig): void {
  const gpu = x.gpu;
  const K = x.shape[x.rank - 1]!;
  const M = x.size / K;
  const ldy = y.shape[y.rank - 1]!;
  if (y.dtype === 'f16' && !gpu.hasF16) throw new DTypeError(`linear: an f16 output (x ${x.name} is f16) needs shader-f16, which this device lacks`);
  checkParts(x, parts, K);
  const maxWg = gpu.limits.maxComputeWorkgroupsPerDimension;
  for (const { w, ycol0, bcol0 } of parts) {
    const N = w.shape[0];
    if (N === 0 || M === 0) continue;
    const gx = Math.ceil(N / chosen.tn), gy = Math.ceil(M / chosen.tm);
    if (gx > maxWg || gy > maxWg) throw new LimitError(`linear: ${gx}×${gy} workgroups for x ${shapeStr(x.shape)}·${w.name}ᵀ exceed maxComputeWorkgroupsPerDimension ${maxWg}`);
    const kernel = gpu.kernels.get(kernelSpec(gpu, x.dtype as 'f32' | 'f16', y.dtype as 'f32' | 'f16', bias?.dtype as 'f32' | 'f16' | undefined, w.format, chosen));
    const KW = K / codesPerWord(w.format);
    const params = new Uint32Array([M, N, KW, w.group / codesPerWord(w.format), ldy, ycol0, bcol0, 0]);
    kernel.dispatch([x.binding(), w.codes.binding(), w.groups.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], [gx, gy], params);
  }
}

/**
 * The same through the float kernels: each part's rows are dequantized, a chunk of at most
 * p.maxBytes at a time, into a scratch f32 tensor, and the policy's float GEMM (or GEMV) computes
 * that chunk's columns of y. The scratch is this call's own: freed after the last chunk is
 * recorded, back to the pool, which hands the same buffer to the next chunk and the next layer.
 */
export function recordScratch(c: QuantCall, p: ScratchParams): void {
  const { x, parts, y, bias, M, K } = c;
  checkParts(x, parts, K);
  const policy = policyFor(x.gpu);
  const maxRows = Math.max(1, Math.floor(Math.min(p.maxBytes, x.gpu.limits.maxStorageBufferBindingSize) / (4 * K)));
  for (const { w, ycol0, bcol0 } of parts) {
    const N = w.shape[0];
    // As equal as possible: no chunk is a tiny remainder.
    const chunks = Math.ceil(N / maxRows), base = Math.floor(N / chunks), extra = N % chunks;
    for (let i = 0, r = 0; i < chunks; i++) {
      const rows = base + (i < extra ? 1 : 0);
      const scratch = Tensor.empty(x.gpu, [rows, K], 'f32', `${w.name}:dequantized[${r}:]`);
      try {
        dequantizeInto(w, r, scratch);
        policy.run(M <= GEMV_MAX_ROWS ? 'gemv' : 'gemm', { x, parts: [{ w: scratch, ycol0: ycol0 + r, bcol0: bcol0 + r }], y, bias, M, K });
      } finally { scratch.dispose(); }
      r += rows;
    }
  }
}

/** y = x·dequant(W)ᵀ (+ b) for one QuantTensor: the policy's variant, or the kernel tile cfg. */
export function quantLinear(x: Tensor, w: QuantTensor, bias?: Tensor, cfg?: QuantConfig): Tensor {
  const { N, K } = checkLinear('quantLinear', x, w.shape, w.name, bias);
  const limit = x.gpu.limits.maxStorageBufferBindingSize;
  for (const t of [w.codes, w.groups]) if (t.byteSize > limit) throw new LimitError(`quantLinear: ${t.name} is ${t.byteSize} B, over maxStorageBufferBindingSize ${limit} B; split it into row chunks`);
  const y = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), N], x.dtype, 'quantLinear');
  if (y.size === 0) return y;
  if (K === 0) { y.dispose(); throw new ShapeError(`quantLinear: K = 0 (x ${x.name} ${shapeStr(x.shape)})`); }
  const parts = [{ w, ycol0: 0, bcol0: 0 }];
  const M = x.size / K;
  if (cfg) recordQuant(x, parts, y, bias, cfg);
  else policyFor(x.gpu).run(M <= GEMV_MAX_ROWS ? 'qgemv' : 'qgemm', { x, parts, y, bias, M, K });
  return y;
}
