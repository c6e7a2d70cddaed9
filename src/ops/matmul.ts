// Linear layers: y = x·Wᵀ (+ b), with W stored [out, in] as checkpoints store it.
// x [..., K] (leading dimensions are flattened into M rows), W [N, K], b [N] -> y [..., N].
//
// matmulTiled: the plain 16×16 shared-memory kernel (baseline, same dtype everywhere).
// matmulReg:   the register-tiled kernel (src/wgsl/matmul_reg.wgsl): f32 or f16 x, W and bias in
//              any mix, f32 accumulation, y in x's dtype; also the GEMV for small M (gemv()).
// Both take explicit parameters; which ones run in linear() is the kernel policy's choice (ops/policy.ts).
import type { Gpu } from '../core/device.js';
import { DTypeError, LimitError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import type { Kernel, KernelSpec } from '../core/kernel.js';

export const TILE = 16;

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

/** Tile and vector shape of one matmul_reg specialization. */
export interface RegConfig {
  /** Output rows per workgroup (1..12). */
  tm: number;
  /** Output columns per workgroup. tm·tn <= 144 keeps the tile in registers. */
  tn: number;
  /** Lanes per workgroup, splitting K. 8 = lavapipe's SIMD width (one workgroup = one vector);
   *  above 8 a power of two (the cross-lane sum halves it). */
  wg: number;
  /** k-values per load: 4, 2 or 1 (must divide K; f16 uses 2 or 4 through packed u32 loads). */
  vec?: number;
  /** Use subgroupAdd for the cross-lane reduction (default: when the device has subgroups). */
  subgroups?: boolean;
  /** Variant name shown in profiles (set by the policy). */
  variant?: string;
}

export type Float = 'f32' | 'f16';

export function checkFloat(t: Tensor, what: string, op: string): Float {
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new DTypeError(`${op}: ${what} ${t.name} is ${t.dtype}; f32 or f16 expected`);
  return t.dtype;
}

/** Storage type and widening expression for reading `vec` k-values of a tensor at vector index i. */
export function loadOf(name: string, dtype: Float, vec: number): { storage: string; expr: string } {
  if (dtype === 'f32') {
    return vec === 1 ? { storage: 'f32', expr: `${name}[i]` } : { storage: `vec${vec}<f32>`, expr: `${name}[i]` };
  }
  if (vec === 1) return { storage: 'f16', expr: `f32(${name}[i])` };
  if (vec === 2) return { storage: 'u32', expr: `unpack2x16float(${name}[i])` };
  return { storage: 'vec2<u32>', expr: `vec4<f32>(unpack2x16float(${name}[i].x), unpack2x16float(${name}[i].y))` };
}

/** The widest vector width <= want that divides K; f16 without shader-f16 needs at least 2. */
export function pickVec(K: number, want: number): number {
  for (const v of [4, 2, 1]) if (v <= want && K % v === 0) return v;
  return 1;
}

/** One part of a linear layer: the problem sizes, where the part's columns go in y and its bias slice. */
export interface RegPart { w: Tensor; ycol0: number; bcol0: number }

/** The loads, types and bias of a linear kernel (matmul_reg, matmul_rows): its text defines and enables. */
export interface LinearLoads { vec: number; defines: Record<string, string | number>; enables: string[] }

/**
 * How a linear kernel reads x and W (`want` k-values a load, narrowed to what divides K), widens
 * them to f32, reads the bias and stores y. f16 is read as packed u32 pairs where K allows, so that
 * it needs no shader-f16; refuses (DTypeError) what this device cannot run.
 */
export function linearLoads(gpu: Gpu, x: Tensor, wd: Float, y: Tensor, bias: Tensor | undefined, want: number, wName: string): LinearLoads {
  const K = x.shape[x.rank - 1]!;
  const xd = x.dtype as Float, yd = y.dtype as Float;
  const bd = bias?.dtype as Float | undefined;
  let vec = pickVec(K, want);
  const needsHalf = (d: Float | undefined, v: number) => d === 'f16' && v === 1;
  if (!gpu.hasF16 && (xd === 'f16' || wd === 'f16')) vec = Math.max(vec, pickVec(K, 4));
  if (!gpu.hasF16 && (needsHalf(xd, vec) || needsHalf(wd, vec) || yd === 'f16')) {
    const who = yd === 'f16' ? `y (x ${x.name} is f16)` : needsHalf(xd, vec) ? `x ${x.name}` : `W ${wName}`;
    throw new DTypeError(`linear: ${who} needs shader-f16 (odd K = ${K} or an f16 output), which this device lacks`);
  }
  const half = needsHalf(xd, vec) || needsHalf(wd, vec) || yd === 'f16';
  const lx = loadOf('x', xd, vec), lw = loadOf('w', wd, vec);
  const xv = vec === 1 ? 'f32' : `vec${vec}<f32>`;
  // f16 bias is read as u32 pairs so that it needs no shader-f16.
  const biasExpr = !bias ? '0.0' : bd === 'f32' ? 'bias[n]' : 'unpack2x16float(bias[n >> 1u])[n & 1u]';
  return {
    vec,
    defines: {
      XS: lx.storage, WS: lw.storage, XV: xv, LDX: lx.expr, LDW: lw.expr, YT: yd,
      HSUM: vec === 1 ? 'v' : `dot(v, ${xv}(1.0))`,
      BIAS: biasExpr,
      BIAS_DECL: bias ? `@group(0) @binding(4) var<storage, read> bias: array<${bd === 'f32' ? 'f32' : 'u32'}>;` : '',
    },
    enables: half ? ['f16'] : [],
  };
}

/**
 * Dispatches a linear kernel (include/linear_io) once for each weight part: y[:, part columns] =
 * x·Wpartᵀ (+ bias slice), `vec` k-values a load; grid(N, M) gives the workgroups of a part of N rows.
 */
export function dispatchParts(op: string, kernel: Kernel, x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined,
  vec: number, grid: (N: number, M: number) => readonly [number, number]): void {
  const K = x.shape[x.rank - 1]!;
  const M = x.size / K;
  const ldy = y.shape[y.rank - 1]!;
  const maxWg = x.gpu.limits.maxComputeWorkgroupsPerDimension;
  for (const part of parts) {
    const N = part.w.shape[0]!;
    if (N === 0 || M === 0) continue;
    const [gx, gy] = grid(N, M);
    if (gx > maxWg || gy > maxWg) throw new LimitError(`${op}: ${gx}×${gy} workgroups for x ${shapeStr(x.shape)}·${part.w.name}ᵀ exceed maxComputeWorkgroupsPerDimension ${maxWg}`);
    kernel.dispatch([x.binding(), part.w.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], [gx, gy],
      new Uint32Array([M, N, K / vec, ldy, part.ycol0, part.bcol0, 0, 0]));
  }
}

/** Workgroup memory of matmul_reg's cross-lane sums: one f32 a lane and output of the tile. */
export const regBytes = (cfg: RegConfig): number => 4 * cfg.tm * cfg.tn * cfg.wg;

/** Whether this device can run the configuration (limits; wg above 8 a power of two). */
export function regFits(gpu: Gpu, cfg: RegConfig): boolean {
  const l = gpu.limits;
  return (cfg.wg <= 8 || (cfg.wg & (cfg.wg - 1)) === 0) && cfg.wg <= l.maxComputeInvocationsPerWorkgroup
    && cfg.wg <= l.maxComputeWorkgroupSizeX && regBytes(cfg) <= l.maxComputeWorkgroupStorageSize;
}

/**
 * Records y[:, part columns] = x·Wpartᵀ (+ bias slice) for each part into an existing y [M, ldy].
 * Shapes and dtypes must have been checked by the caller (matmulReg, gemv, linear).
 */
export function recordReg(x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined, cfg: RegConfig): void {
  const gpu: Gpu = x.gpu;
  if (!regFits(gpu, cfg)) {
    throw new LimitError(`linear: matmul_reg ${cfg.tm}×${cfg.tn} with ${cfg.wg} lanes needs ${regBytes(cfg)} bytes of workgroup memory and ${cfg.wg} invocations `
      + `(this device: ${gpu.limits.maxComputeWorkgroupStorageSize} bytes, ${gpu.limits.maxComputeInvocationsPerWorkgroup} invocations)${cfg.wg > 8 && (cfg.wg & (cfg.wg - 1)) ? '; and lanes above 8 must be a power of two' : ''}`);
  }
  const K = x.shape[x.rank - 1]!;
  const M = x.size / K;
  const ldy = y.shape[y.rank - 1]!;
  const { vec, defines, enables } = linearLoads(gpu, x, parts[0]!.w.dtype as Float, y, bias, cfg.vec ?? 1, parts[0]!.w.name);
  const sub = (cfg.subgroups ?? gpu.hasSubgroups) && gpu.hasSubgroups;
  const spec: KernelSpec = {
    source: 'matmul_reg',
    defines: {
      TM: cfg.tm, TN: cfg.tn, WG: cfg.wg, ...defines,
      RED_DECL: sub ? ', @builtin(subgroup_invocation_id) sid: u32' : '',
      RED: sub
        ? 'let s = subgroupAdd(hsum(acc[i][j])); red[(i * TN + j) * WG + lid] = select(0.0, s, sid == 0u);'
        : 'red[(i * TN + j) * WG + lid] = hsum(acc[i][j]);',
    },
    enables: [...enables, ...(sub ? ['subgroups'] : [])],
    ...(cfg.variant ? { label: `matmul_reg ${cfg.variant}` } : {}),
  };
  const kernel = gpu.kernels.get(spec);
  const maxWg = gpu.limits.maxComputeWorkgroupsPerDimension;
  for (const part of parts) {
    const N = part.w.shape[0]!;
    if (N === 0 || M === 0) continue;
    const gx = Math.ceil(N / cfg.tn), gy = Math.ceil(M / cfg.tm);
    if (gx > maxWg || gy > maxWg) throw new LimitError(`linear: ${gx}×${gy} workgroups for x ${shapeStr(x.shape)}·${part.w.name}ᵀ exceed maxComputeWorkgroupsPerDimension ${maxWg}`);
    const params = new Uint32Array([M, N, K / vec, ldy, part.ycol0, part.bcol0, 0, 0]);
    kernel.dispatch([x.binding(), part.w.binding(), y.binding(), ...(bias ? [bias.binding()] : [])], [gx, gy], params);
  }
}

/** Checks x [..., K], W [N, K], bias [N] for y = x·Wᵀ + b; returns K, N and M. */
export function checkLinear(op: string, x: Tensor, wShape: readonly number[], wName: string, bias?: Tensor): { M: number; N: number; K: number } {
  const K = x.shape[x.rank - 1];
  if (K === undefined || wShape.length !== 2 || wShape[1] !== K) {
    throw new ShapeError(`${op}: x ${x.name} ${shapeStr(x.shape)} and W ${wName} ${shapeStr(wShape)} do not fit y = x·Wᵀ (need x [..., K], W [N, K])`);
  }
  const N = wShape[0]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) throw new ShapeError(`${op}: bias ${bias.name} ${shapeStr(bias.shape)} does not match N = ${N} of W ${wName} ${shapeStr(wShape)}`);
  checkFloat(x, 'x', op);
  if (bias) checkFloat(bias, 'bias', op);
  return { M: K === 0 ? 0 : x.size / K, N, K };
}

/** Records one linear kernel into y (recordReg and the variants in ops/matmul_*.ts). */
export type LinearRecorder = (x: Tensor, parts: readonly RegPart[], y: Tensor, bias: Tensor | undefined) => void;

/** y = x·Wᵀ (+ b) for one whole weight: checks, allocates y in x's dtype, records `record`. */
export function linearOp(op: string, x: Tensor, w: Tensor, bias: Tensor | undefined, record: LinearRecorder): Tensor {
  const { N } = checkLinear(op, x, w.shape, w.name, bias);
  checkFloat(w, 'W', op);
  const y = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), N], x.dtype, op);
  if (y.size === 0) return y;
  if (x.shape[x.rank - 1] === 0) throw new ShapeError(`${op}: K = 0 (x ${x.name} ${shapeStr(x.shape)})`);
  record(x, [{ w, ycol0: 0, bcol0: 0 }], y, bias);
  return y;
}

function regOp(op: string, x: Tensor, w: Tensor, bias: Tensor | undefined, cfg: RegConfig): Tensor {
  return linearOp(op, x, w, bias, (x, parts, y, b) => recordReg(x, parts, y, b, cfg));
}

/** Register-tiled y = x·Wᵀ (+ b): f32/f16 x, W and bias in any mix, f32 accumulation, y in x's dtype. */
export function matmulReg(x: Tensor, w: Tensor, bias: Tensor | undefined, cfg: RegConfig): Tensor {
  return regOp('matmul', x, w, bias, cfg);
}

/** GEMV for decode (few rows): one workgroup per cfg.tn columns, all rows at once (tm = M). */
export function gemv(x: Tensor, w: Tensor, bias: Tensor | undefined, cfg: RegConfig): Tensor {
  const K = x.shape[x.rank - 1] ?? 0;
  const M = K === 0 ? 0 : x.size / K;
  return regOp('gemv', x, w, bias, { ...cfg, tm: Math.max(1, M) });
}
