// The kernel policy: the one place that decides, per device, which variant of each op runs and with
// what parameters (tile shapes, lanes, workgroup sizes), and which compute dtype `--dtype auto`
// means. Ops ask it (linear, attention, layerNorm/rmsNorm, softmax); nn and model code never see it.
//
// A choice is made per op and shape class (classify() below), by the first rule that applies:
//   1. forced    LLAVA_ST_KERNEL=gemm=reg8x8.k8v4,attention:smallD.prefill=fused.wg16 (or forceKernels())
//   2. measured  the winner cached for this adapter + driver + library version (ops/tune.ts times
//                every candidate on the device after checking it against the reference)
//   3. default   the table of the adapter's class (software / integrated / discrete) below
//
// Adding a variant: write its kernel (a function taking an explicit params object) and its test, then
// add ONE entry to CANDIDATES: a name, its params and how it runs the op's call. The tuner times it on
// the next `llava-st tune` (the library version changes with the table, so old caches are ignored).
import type { Gpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { fnv1a, kernelLibraryDigest } from '../core/kernel.js';
import { recordReg, regFits, type RegConfig, type RegPart } from './matmul.js';
import { recordRows, type RowsParams } from './matmul_rows.js';
import { recordShared, sharedFits, type SharedParams } from './matmul_shared.js';
import { attentionSmall, type SmallAttentionParams } from './attention_small.js';
import { attentionFlash, type FlashAttentionParams } from './attention_flash.js';
import { fusedAttention, type AttentionParams, type ResolvedAttention } from './attention.js';
import { normRows, type NormCall, type NormParams } from './norm.js';
import { softmaxRows, type SoftmaxParams } from './softmax.js';
import { ROW_SPLITS } from './row_split.js';
import { pointwiseUnits, type PointwiseCall, type PointwiseParams } from './activation.js';
import { recordQuant, recordScratch, type QuantCall, type QuantConfig, type ScratchParams } from './quant_linear.js';

/** linear() takes the GEMV path up to this many rows (all rows in one workgroup tile). */
export const GEMV_MAX_ROWS = 4;

/** What each op hands its variants ("call"), what the variants are parameterized by, and return. */
export interface Ops {
  /** y[:, part columns] = x·Wpartᵀ (+ bias), recorded into an existing y (M > GEMV_MAX_ROWS). */
  gemm: { call: LinearCall; params: RegConfig; result: void };
  /** The same for M <= GEMV_MAX_ROWS (decode): weight-bandwidth bound. */
  gemv: { call: LinearCall; params: RegConfig; result: void };
  attention: { call: ResolvedAttention; params: AttentionParams; result: Tensor };
  /** LayerNorm and RMSNorm share a kernel and its parameters. */
  norm: { call: NormCall; params: NormParams; result: Tensor };
  softmax: { call: { x: Tensor }; params: SoftmaxParams; result: Tensor };
  /** Activations (gelu, siluMul). */
  pointwise: { call: PointwiseCall; params: PointwiseParams; result: Tensor };
  /** gemm and gemv over q8/q4 weights (ops/quant_linear), recorded into an existing y. */
  qgemm: { call: QuantCall; params: QuantConfig; result: void };
  qgemv: { call: QuantCall; params: QuantConfig; result: void };
}
export type OpName = keyof Ops;
export const OP_NAMES: readonly OpName[] = ['gemm', 'gemv', 'attention', 'norm', 'softmax', 'pointwise', 'qgemm', 'qgemv'];

export interface LinearCall { x: Tensor; parts: readonly RegPart[]; y: Tensor; bias?: Tensor | undefined; M: number; K: number }

export interface Candidate<O extends OpName, P = Ops[O]['params']> {
  /** Unique within the op; shown by the profiler, `bench kernels` and `tune`. */
  name: string;
  /** Its own kernel's parameters (a variant of another kernel family brings its own type). */
  params: P;
  /** Whether this device can run it at all (features, limits); absent: everywhere. */
  when?: (gpu: Gpu) => boolean;
  /** The shape classes it is made for (e.g. attention_small: head dims <= 32); absent: all. */
  classes?: readonly string[];
  run(call: Ops[O]['call'], params: P): Ops[O]['result'];
}

/** Whether `c` may run `op:cls` on `gpu` (forced, measured or default alike). */
export const applies = (gpu: Gpu, c: Candidate<OpName, unknown>, cls: string): boolean =>
  (!c.when || c.when(gpu)) && (!c.classes || c.classes.includes(cls));

const linearRun = (c: LinearCall, p: RegConfig): void => recordReg(c.x, c.parts, c.y, c.bias, p);
const rowsRun = (c: LinearCall, p: RowsParams): void => recordRows(c.x, c.parts, c.y, c.bias, p);
const sharedRun = (c: LinearCall, p: SharedParams): void => recordShared(c.x, c.parts, c.y, c.bias, p);
/** A matmul_shared candidate, runnable where the device's invocation and workgroup-memory limits allow. */
const shared = (name: string, params: SharedParams): Candidate<'gemm', SharedParams> =>
  ({ name, params, when: (gpu) => sharedFits(gpu, params), run: sharedRun });
const smallAttention = (c: ResolvedAttention, p: SmallAttentionParams): Tensor =>
  attentionSmall(c.q, c.k, c.v, { causal: c.causal, kvLength: c.kvLength, qOffset: c.qOffset, scale: c.scale }, p);
const flashAttention = (c: ResolvedAttention, p: FlashAttentionParams): Tensor =>
  attentionFlash(c.q, c.k, c.v, { causal: c.causal, kvLength: c.kvLength, qOffset: c.qOffset, scale: c.scale }, p);
const gemvRun = (c: LinearCall, p: RegConfig): void => recordReg(c.x, c.parts, c.y, c.bias, { ...p, tm: c.M });
/** A GEMV candidate (matmul_reg with tm = M), runnable where the limits allow GEMV_MAX_ROWS rows. */
const gemv = (name: string, params: RegConfig): Candidate<'gemv'> =>
  ({ name, params, when: (gpu) => regFits(gpu, { ...params, tm: GEMV_MAX_ROWS }), run: gemvRun });
const quantRun = (c: QuantCall, p: QuantConfig): void => recordQuant(c.x, c.parts, c.y, c.bias, p);
const qgemvRun = (c: QuantCall, p: QuantConfig): void => recordQuant(c.x, c.parts, c.y, c.bias, { ...p, tm: c.M });
// Dequantized f32 rows, 32 MiB a chunk: big enough that a chunk's GEMM fills the device, small
// enough to stay a minor share of memory beside the weights.
const SCRATCH_BYTES = 32 << 20;

// The candidate table. Names say the shape of the work: reg{TM}x{TN}.k{lanes over K}[v{vector}];
// rows{TM}x{TN}.v{vector} (lanes over rows, whole K each: ops/matmul_rows); shared{BM}x{BN}.t{TM}x{TN}
// (workgroup-memory tiles of BM×BN, TM×TN outputs an invocation: ops/matmul_shared); fused.wg{rows a
// workgroup}[.split{min workgroups}]; small.qr{query rows an invocation}k{keys a block} (ops/attention_small);
// flash.q{pairs a workgroup}t{invocations a pair} (ops/attention_flash);
// row.wg{rows a workgroup} / chunk.wg{lanes} / coal.wg{lanes} for the row kernels (ops/row_split.ts);
// wg{lanes}.c{units each} for pointwise. A candidate of another kernel family states its params' type.
export const CANDIDATES: { [O in OpName]: readonly Candidate<O, any>[] } = {
  gemm: [
    // lavapipe: one 8-lane workgroup = one SIMD vector; loads are scalarized, so TM·TN FMAs per TM+TN loads.
    { name: 'reg12x12.k8', params: { tm: 12, tn: 12, wg: 8, vec: 1 }, run: linearRun },
    // vec4 loads: fewer, wider loads; the smaller tile keeps the unrolled vec4 FMAs in registers.
    // (Fewer than 8 lanes over K, tried for the demo model's K = 32/48, was slower at 4096×48×128
    // and lavapipe compiles those specializations ~10× slower: not candidates.)
    { name: 'reg8x8.k8v4', params: { tm: 8, tn: 8, wg: 8, vec: 4 }, run: linearRun },
    // GPU-shaped: many lanes over K, coalesced vec4 loads of the weight rows.
    { name: 'reg4x4.k64v4', params: { tm: 4, tn: 4, wg: 64, vec: 4 }, run: linearRun },
    // Small K (the demo model's 32/48): no cross-lane reduction at all; 4-6x reg12x12 there on lavapipe.
    { name: 'rows4x8.v4', params: { tm: 4, tn: 8, wg: 8, vec: 4 }, classes: ['smallK', 'midK'], run: rowsRun } satisfies Candidate<'gemm', RowsParams>,
    // GPU class: workgroup-memory tiles (each global element read once per block), 2-D register
    // tiles, 64 or 256 invocations; `when` checks the device's limits (the 128² block needs 20 KiB).
    shared('shared64x64.t8x8', { tm: 8, tn: 8, wx: 8, wy: 8, bk: 16 }),
    shared('shared64x64.t4x4', { tm: 4, tn: 4, wx: 16, wy: 16, bk: 16 }),
    shared('shared128x128.t8x8', { tm: 8, tn: 8, wx: 16, wy: 16, bk: 16 }),
  ],
  gemv: [
    gemv('gemv.n8k8v4', { tm: 1, tn: 8, wg: 8, vec: 4 }),
    gemv('gemv.n4k32v4', { tm: 1, tn: 4, wg: 32, vec: 4 }),
    gemv('gemv.n2k64v4', { tm: 1, tn: 2, wg: 64, vec: 4 }),
    // Wide (GPUs): 128-256 lanes over K read each weight row in coalesced vec4s; the lanes' sums
    // are a subgroupAdd, then a parallel halving in workgroup memory (wgsl/matmul_reg.wgsl).
    gemv('gemv.n4k128v4', { tm: 1, tn: 4, wg: 128, vec: 4 }),
    gemv('gemv.n2k256v4', { tm: 1, tn: 2, wg: 256, vec: 4 }),
  ],
  attention: [
    // minWorkgroups: split the keys until this many workgroups run (fills the CPU threads / the SMs).
    { name: 'fused.wg64.split32', params: { wg: 64, minWorkgroups: 32, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg16.split32', params: { wg: 16, minWorkgroups: 32, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg32.split8', params: { wg: 32, minWorkgroups: 8, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg64.split256', params: { wg: 64, minWorkgroups: 256, minChunk: 32 }, run: fusedAttention },
    // Head dims <= 32 in registers, QR query rows per loaded K/V vector, KB keys a block; keys are
    // not split (prefill only). lavapipe: qr8k8 2.5-4x qr4k4 on the demo shapes (bench kernels attention.demo).
    { name: 'small.qr8k8', params: { qr: 8, kb: 8, wg: 8 }, classes: ['smallD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    { name: 'small.qr4k4', params: { qr: 4, kb: 4, wg: 8 }, classes: ['smallD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    // GPU-shaped: K/V tiles in workgroup memory shared by a block of pairs (prefill: keys not split).
    { name: 'flash.q32t4', params: { bq: 32, tpq: 4, bk: 32 }, classes: ['largeD.prefill', 'smallD.prefill'], run: flashAttention } satisfies Candidate<'attention', FlashAttentionParams>,
    { name: 'flash.q64t1', params: { bq: 64, tpq: 1, bk: 16 }, classes: ['largeD.prefill', 'smallD.prefill'], run: flashAttention } satisfies Candidate<'attention', FlashAttentionParams>,
  ],
  // Row kernels: one invocation a row (row.*), contiguous chunks (chunk.*) or coalesced lanes with
  // tree reductions (coal.*), ops/row_split.ts.
  norm: ROW_SPLITS.map((s) => ({ ...s, run: normRows })),
  softmax: ROW_SPLITS.map((s) => ({ ...s, run: (c: { x: Tensor }, p: SoftmaxParams) => softmaxRows(c.x, p) })),
  pointwise: [
    { name: 'wg64.c4', params: { wg: 64, chunk: 4 }, run: pointwiseUnits },
    { name: 'wg64.c16', params: { wg: 64, chunk: 16 }, run: pointwiseUnits },
    { name: 'wg256.c1', params: { wg: 256, chunk: 1 }, run: pointwiseUnits },
  ],
  // deq{TM}x{TN}.k{lanes}: matmul_quant, dequantizing in registers; scratch: dequantized rows
  // through the float gemm/gemv chosen above (ops/quant_linear says when each wins).
  qgemm: [
    { name: 'scratch', params: { maxBytes: SCRATCH_BYTES }, run: recordScratch } satisfies Candidate<'qgemm', ScratchParams>,
    { name: 'deq8x8.k8', params: { tm: 8, tn: 8, wg: 8 }, run: quantRun },
    { name: 'deq4x8.k8', params: { tm: 4, tn: 8, wg: 8 }, run: quantRun },
  ],
  qgemv: [
    { name: 'deq.n8k8', params: { tm: 1, tn: 8, wg: 8 }, run: qgemvRun },
    { name: 'deq.n4k32', params: { tm: 1, tn: 4, wg: 32 }, run: qgemvRun },
    { name: 'deq.n2k64', params: { tm: 1, tn: 2, wg: 64 }, run: qgemvRun },
  ],
};

/** Shape classes: calls of one class share a winner. Names are short and stable (cache keys). */
export const SHAPE_CLASSES: { [O in OpName]: readonly string[] } = {
  gemm: ['smallK', 'midK', 'largeK'],
  gemv: ['smallK', 'largeK'],
  attention: ['smallD.prefill', 'smallD.decode', 'largeD.prefill', 'largeD.decode'],
  norm: ['narrow', 'wide'],
  softmax: ['narrow', 'wide'],
  pointwise: ['any'],
  qgemm: ['q8', 'q4'],
  qgemv: ['q8', 'q4'],
};

export const gemmClass = (K: number): string => (K <= 64 ? 'smallK' : K <= 1024 ? 'midK' : 'largeK');
/** GEMV by K: lanes that split a short K (the demo's lm_head: K = 48, N = 151660) mostly idle. */
export const gemvClass = (K: number): string => (K <= 256 ? 'smallK' : 'largeK');
export const attentionClass = (Lq: number, D: number): string => `${D <= 32 ? 'smallD' : 'largeD'}.${Lq === 1 ? 'decode' : 'prefill'}`;
export const rowClass = (op: 'norm' | 'softmax', n: number): string => (n <= (op === 'norm' ? 256 : 1024) ? 'narrow' : 'wide');

export const classify: { [O in OpName]: (call: Ops[O]['call']) => string } = {
  gemm: (c) => gemmClass(c.K),
  gemv: (c) => gemvClass(c.K),
  attention: (c) => attentionClass(c.Lq, c.D),
  norm: (c) => rowClass('norm', c.x.shape[c.x.rank - 1]!),
  softmax: (c) => rowClass('softmax', c.x.shape[c.x.rank - 1]!),
  pointwise: () => 'any',
  qgemm: (c) => c.parts[0]!.w.format,
  qgemv: (c) => c.parts[0]!.w.format,
};

const cols = (parts: readonly { w: { shape: readonly number[] } }[]): number => parts.reduce((n, p) => n + p.w.shape[0]!, 0);
const rows = (x: Tensor): string => `${x.size / x.shape[x.rank - 1]!}×${x.shape[x.rank - 1]}`;
/** A call's problem size, as the by-shape profile (LLAVA_ST_PROFILE=shapes) labels it. */
export const describe: { [O in OpName]: (call: Ops[O]['call']) => string } = {
  gemm: (c) => `${c.M}×${c.K}×${cols(c.parts)}`, // M×K×N
  gemv: (c) => `${c.M}×${c.K}×${cols(c.parts)}`,
  // decode: one row per key count would make a row per token; the cache's capacity instead
  attention: (c) => `q ${c.Lq}×${c.Hq}×${c.D} kv ${c.Lq === 1 ? `≤${c.Lmax}` : c.kvLength}×${c.Hkv}${c.causal ? ' causal' : ''}`,
  norm: (c) => `${c.op} ${rows(c.x)}`,
  softmax: (c) => rows(c.x),
  pointwise: (c) => `${c.op} ${c.inputs[0]!.size}`,
  qgemm: (c) => `${c.M}×${c.K}×${cols(c.parts)}`,
  qgemv: (c) => `${c.M}×${c.K}×${cols(c.parts)}`,
};

export type AdapterClass = 'software' | 'integrated' | 'discrete';

/** Software rasterizers and CPU fallbacks; then integrated by vendor/name; the rest discrete. */
export function adapterClass(gpu: Gpu): AdapterClass {
  const a = gpu.adapter;
  const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
  if (/software|llvmpipe|lavapipe|swiftshader|warp|microsoft basic/.test(text)) return 'software';
  if (/apple|intel(?!.*\barc\b)|mali|adreno|powervr|radeon(\(tm\))? graphics|vega \d+ graphics|integrated/.test(text)) return 'integrated';
  return 'discrete';
}

/** A variant for every class of the op, or per class with '*' for the rest. */
type DefaultChoice = string | ({ '*': string } & Record<string, string>);
type Defaults = { [O in OpName]: DefaultChoice } & { dtype: (gpu: Gpu) => 'f32' | 'f16' };

/** The adapter class's default variant for one op and shape class. */
export function defaultVariant(cls: AdapterClass, op: OpName, shapeClass: string): string {
  const d = DEFAULTS[cls][op];
  return typeof d === 'string' ? d : d[shapeClass] ?? d['*'];
}

// Before a device is measured. software: measured on lavapipe (docs/design.md); the GPU columns are
// reasonable starting points that `llava-st tune` replaces with measurements.
export const DEFAULTS: Record<AdapterClass, Defaults> = {
  software: {
    gemm: { '*': 'reg12x12.k8', smallK: 'rows4x8.v4' }, gemv: 'gemv.n8k8v4',
    attention: { '*': 'fused.wg64.split32', 'smallD.prefill': 'small.qr8k8' },
    // wide softmax rows (logits, 64×151936): 8 rows a workgroup gives the threads 8 workgroups in
    // place of 1 (scripts/compare-kernels.mjs: 3.15× main). Wide norm rows stay at 64 (LayerNorm
    // 729×1152 f16 was 0.93× main with row.wg8 against 1.71× with row.wg64, RMSNorm even).
    norm: 'row.wg64', softmax: { '*': 'row.wg64', wide: 'row.wg8' }, pointwise: 'wg64.c4',
    qgemm: { '*': 'deq8x8.k8', q4: 'scratch' }, qgemv: 'deq.n8k8', dtype: () => 'f32' },
  integrated: { gemm: 'shared64x64.t4x4', gemv: { '*': 'gemv.n4k128v4', smallK: 'gemv.n8k8v4' }, attention: { '*': 'fused.wg64.split256', 'largeD.prefill': 'flash.q32t4' }, norm: 'coal.wg64', softmax: 'coal.wg64', pointwise: 'wg256.c1',
    qgemm: 'scratch', qgemv: 'deq.n4k32', dtype: (g) => (g.hasF16 ? 'f16' : 'f32') },
  discrete: { gemm: 'shared64x64.t8x8', gemv: { '*': 'gemv.n2k256v4', smallK: 'gemv.n8k8v4' }, attention: { '*': 'fused.wg64.split256', 'largeD.prefill': 'flash.q32t4' }, norm: 'coal.wg256', softmax: 'coal.wg256', pointwise: 'wg256.c1',
    qgemm: 'scratch', qgemv: 'deq.n2k64', dtype: (g) => (g.hasF16 ? 'f16' : 'f32') },
};

/** One measured winner, as cached. */
export interface Measured { variant: string; ms: number; shape: string; runnersUp: { variant: string; ms: number }[]; failed?: string[] }

/** What tuning found for a device: the cache file's content. */
export interface TunedTable {
  schema: 1;
  key: PolicyKey;
  created: string;
  /** Wall time the tuning took. */
  tuneMs: number;
  fma: { f32: number; f16: number | null };
  dtype: 'f32' | 'f16';
  /** `${op}:${shapeClass}` -> winner. */
  winners: Record<string, Measured>;
}

export interface PolicyKey { adapter: string; driver: string; backend: string; library: string }

/** Changes whenever a registered kernel source or snippet (core/kernel.ts) or the candidate table
 *  changes: cached winners then no longer apply. Computed from what is registered now, so a
 *  caller's own registerKernelSources() counts too. */
export function policyLibraryVersion(): string {
  const table = OP_NAMES.map((op) => `${op}:${(CANDIDATES[op] as readonly Candidate<OpName>[]).map((c) => `${c.name}=${JSON.stringify(c.params)}`).join(';')}`).join('|');
  return `${kernelLibraryDigest()}-${fnv1a(table)}`;
}

/** Adapter + driver + library version: what a cached measurement is valid for. */
export function policyKey(gpu: Gpu): PolicyKey {
  const a = gpu.adapter;
  return {
    adapter: [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || 'unknown adapter',
    driver: a.description || 'unknown driver',
    backend: a.backend,
    library: policyLibraryVersion(),
  };
}

export function policyKeyId(key: PolicyKey): string {
  return fnv1a(JSON.stringify(key));
}

/** Parses LLAVA_ST_KERNEL: `op=variant` (every class of the op) or `op:class=variant`, comma-separated. */
export function parseForced(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\w+)(?::([\w.]+))?=([\w.]+)$/.exec(item);
    const op = m?.[1] as OpName | undefined;
    if (!m || !op || !OP_NAMES.includes(op)) {
      throw new InputError(`LLAVA_ST_KERNEL: "${item}" is not op=variant or op:class=variant (ops: ${OP_NAMES.join(', ')})`);
    }
    const cls = m[2];
    if (cls !== undefined && !SHAPE_CLASSES[op].includes(cls)) throw new InputError(`LLAVA_ST_KERNEL: ${op} has no shape class "${cls}" (${SHAPE_CLASSES[op].join(', ')})`);
    const names = (CANDIDATES[op] as readonly Candidate<OpName>[]).map((c) => c.name);
    if (!names.includes(m[3]!)) throw new InputError(`LLAVA_ST_KERNEL: ${op} has no variant "${m[3]}" (${names.join(', ')})`);
    out.set(cls === undefined ? op : `${op}:${cls}`, m[3]!);
  }
  return out;
}

export type ChoiceSource = 'forced' | 'measured' | 'default';

/** The decisions for one device. Get it with policyFor(gpu); loadPolicy() (ops/tune.ts) fills `measured`. */
export class Policy {
  readonly adapterClass: AdapterClass;
  /** The tuned table in use, if any. */
  tuned: TunedTable | undefined;
  private forced: Map<string, string>;
  private readonly memo = new Map<string, { candidate: Candidate<OpName>; source: ChoiceSource }>();

  constructor(private readonly gpu: Gpu, forced = '') {
    this.adapterClass = adapterClass(gpu);
    this.forced = parseForced(forced);
  }

  /** Replaces the forced choices (same syntax as LLAVA_ST_KERNEL). */
  force(spec: string): void {
    this.forced = parseForced(spec);
    this.memo.clear();
  }

  /** Uses a tuned table (its key must be this device's: loadPolicy checks). */
  useTuned(table: TunedTable | undefined): void {
    this.tuned = table;
    this.memo.clear();
  }

  /** The compute dtype `auto` means: measured when tuned, else the adapter class's default. */
  get dtype(): 'f32' | 'f16' {
    const d = this.tuned?.dtype ?? DEFAULTS[this.adapterClass].dtype(this.gpu);
    return d === 'f16' && !this.gpu.hasF16 ? 'f32' : d;
  }

  /** The variant for an op's shape class, and why it was chosen. */
  choose<O extends OpName>(op: O, cls: string): { candidate: Candidate<O>; source: ChoiceSource } {
    const key = `${op}:${cls}`;
    const hit = this.memo.get(key);
    if (hit) return hit as unknown as { candidate: Candidate<O>; source: ChoiceSource };
    const table = CANDIDATES[op] as readonly Candidate<O>[];
    const usable = (name: string | undefined) => table.find((c) => c.name === name && applies(this.gpu, c, cls));
    const forced = this.forced.get(key) ?? this.forced.get(op);
    let choice: { candidate: Candidate<O>; source: ChoiceSource } | undefined;
    if (forced !== undefined) {
      const c = usable(forced);
      // Forced for the whole op, a variant made for other shape classes leaves this one to the rules below.
      const otherClasses = !this.forced.has(key) && table.some((t) => t.name === forced && t.classes && (!t.when || t.when(this.gpu)));
      if (!c && !otherClasses) throw new InputError(`LLAVA_ST_KERNEL: ${op} variant ${forced} cannot run ${op}:${cls} on this device`);
      if (c) choice = { candidate: c, source: 'forced' };
    }
    const measured = usable(this.tuned?.winners[key]?.variant);
    if (!choice && measured) choice = { candidate: measured, source: 'measured' };
    if (!choice) {
      const c = usable(defaultVariant(this.adapterClass, op, cls)) ?? table.find((t) => applies(this.gpu, t, cls));
      if (!c) throw new InputError(`no ${op} variant can run on this device`);
      choice = { candidate: c, source: 'default' };
    }
    this.memo.set(key, choice as unknown as { candidate: Candidate<OpName>; source: ChoiceSource });
    return choice;
  }

  /** Runs an op's call with the variant chosen for its shape class. */
  run<O extends OpName>(op: O, call: Ops[O]['call']): Ops[O]['result'] {
    const cls = classify[op](call);
    const { candidate } = this.choose(op, cls);
    const profiler = this.gpu.stream.profiling;
    if (!profiler?.byShape) return candidate.run(call, { ...candidate.params, variant: candidate.name });
    const outer = profiler.context; // a scratch qgemm runs the gemm it chose inside its own call
    profiler.context = `${op}:${cls} ${describe[op](call)}`;
    try {
      return candidate.run(call, { ...candidate.params, variant: candidate.name });
    } finally {
      profiler.context = outer;
    }
  }
}

const policies = new WeakMap<Gpu, Policy>();
const envForced = (): string => (typeof process !== 'undefined' ? process.env?.LLAVA_ST_KERNEL ?? '' : '');

/** This device's policy: defaults and LLAVA_ST_KERNEL until loadPolicy() (ops/tune.ts) adds measurements. */
export function policyFor(gpu: Gpu): Policy {
  let p = policies.get(gpu);
  if (!p) {
    p = new Policy(gpu, envForced());
    policies.set(gpu, p);
  }
  return p;
}
