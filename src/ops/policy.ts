// The kernel policy: the one place that decides, per device, which variant of each op runs and with
// what parameters (tile shapes, lanes, workgroup sizes), and which compute dtype `--dtype auto`
// means. Ops ask it (linear, attention, layerNorm/rmsNorm, softmax); nn and model code never see it.
//
// A choice is made per op and shape class, by the first rule that applies. A call's class is a
// function of its size (sizeOf, classOf below: e.g. GEMM by K); the same sizes label the by-shape
// profile, are what model/workload.ts lists for a model and what the tuner times.
//   1. forced    LLAVA_ST_KERNEL=gemm=reg8x8.k8v4,attention:smallD.prefill=fused.wg16 (or forceKernels())
//   2. measured  the winner cached for this adapter + driver + library version (ops/tune.ts times
//                every candidate on the device after checking it against the reference: on a
//                model's own sizes with `llava-st tune --model`, else on one fixed trial a class)
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
import { recordBcast, type BcastParams } from './matmul_bcast.js';
import { recordSubgroup, SUBGROUP_LANES, type SubgroupParams } from './matmul_subgroup.js';
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
  /** The shape classes it is made for (e.g. attention_small: prefill); absent: all. */
  classes?: readonly string[];
  run(call: Ops[O]['call'], params: P): Ops[O]['result'];
}

/** Whether `c` may run `op:cls` on `gpu` (forced, measured or default alike). */
export const applies = (gpu: Gpu, c: Candidate<OpName, unknown>, cls: string): boolean =>
  (!c.when || c.when(gpu)) && (!c.classes || c.classes.includes(cls));

const linearRun = (c: LinearCall, p: RegConfig): void => recordReg(c.x, c.parts, c.y, c.bias, p);
const rowsRun = (c: LinearCall, p: RowsParams): void => recordRows(c.x, c.parts, c.y, c.bias, p);
const sharedRun = (c: LinearCall, p: SharedParams): void => recordShared(c.x, c.parts, c.y, c.bias, p);
/** A matmul_subgroup candidate, runnable where subgroups have at least its 8 lanes. */
const subgroup = (name: string, params: SubgroupParams): Candidate<'gemm', SubgroupParams> =>
  ({ name, params, when: (gpu) => gpu.hasSubgroupsOf(SUBGROUP_LANES), run: (c, p) => recordSubgroup(c.x, c.parts, c.y, c.bias, p) });
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
/** A GEMV candidate of matmul_bcast (lanes over N, x shared by subgroupBroadcast; tm = M): where
 *  the device has subgroups. A K that is not a multiple of 4 (never a model's) takes gemv.n8k8v4. */
/** gemv.n8k8v4's parameters: a candidate of its own, and bcastGemv's fallback for K % 4 != 0. */
const GEMV_N8K8V4: RegConfig = { tm: 1, tn: 8, wg: 8, vec: 4 };
const bcastGemv = (name: string, params: BcastParams): Candidate<'gemv', BcastParams> => ({
  name, params, classes: ['smallK'], when: (gpu) => gpu.hasSubgroupsOf(SUBGROUP_LANES), // broadcasts from lanes 0..7
  run: (c, p) => (c.K % 4 === 0 ? recordBcast(c.x, c.parts, c.y, c.bias, { ...p, tm: c.M }) : gemvRun(c, GEMV_N8K8V4)),
});
const quantRun = (c: QuantCall, p: QuantConfig): void => recordQuant(c.x, c.parts, c.y, c.bias, p);
const qgemvRun = (c: QuantCall, p: QuantConfig): void => recordQuant(c.x, c.parts, c.y, c.bias, { ...p, tm: c.M });
// Dequantized f32 rows, 32 MiB a chunk: big enough that a chunk's GEMM fills the device, small
// enough to stay a minor share of memory beside the weights.
const SCRATCH_BYTES = 32 << 20;

// The candidate table. Names say the shape of the work: reg{TM}x{TN}.k{lanes over K}[v{vector}];
// rows{TM}x{TN}.v{vector} (lanes over rows, whole K each: ops/matmul_rows); shared{BM}x{BN}.t{TM}x{TN}
// (workgroup-memory tiles of BM×BN, TM×TN outputs an invocation: ops/matmul_shared); sub{TM}x{TN}.v{vector}
// (TM rows × TN columns a lane, x and W shared by 8 lanes through subgroupBroadcast: ops/matmul_subgroup); fused.wg{rows a
// workgroup}[.split{min workgroups}]; small.qr{query rows an invocation}k{keys a block}[s{lanes sharing each
// K/V load}] (ops/attention_small);
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
    // Subgroups of 8: one per-lane load of W (and of x) feeds 8 lanes by broadcast. lavapipe, where a
    // load costs ~5× a broadcast: 2–4× rows4x8.v4 on the demo shapes, 2–3× reg12x12.k8 at 1024³
    // (bench kernels --filter matmul.demo / matmul.roof). 4×32 and 8×16 (128 sums) spill and run 2–3× slower.
    subgroup('sub2x16.v4', { tm: 2, tn: 16, vec: 4 }),
    subgroup('sub4x16.v4', { tm: 4, tn: 16, vec: 4 }),
    subgroup('sub4x24.v4', { tm: 4, tn: 24, vec: 4 }),
  ],
  gemv: [
    gemv('gemv.n8k8v4', GEMV_N8K8V4),
    gemv('gemv.n4k32v4', { tm: 1, tn: 4, wg: 32, vec: 4 }),
    gemv('gemv.n2k64v4', { tm: 1, tn: 2, wg: 64, vec: 4 }),
    // Wide (GPUs): 128-256 lanes over K read each weight row in coalesced vec4s; the lanes' sums
    // are a subgroupAdd, then a parallel halving in workgroup memory (wgsl/matmul_reg.wgsl).
    gemv('gemv.n4k128v4', { tm: 1, tn: 4, wg: 128, vec: 4 }),
    gemv('gemv.n2k256v4', { tm: 1, tn: 2, wg: 256, vec: 4 }),
    // Small K (the demo's lm_head, 1×48×151960): lanes over N, each lane reads its W rows whole and
    // x comes by subgroupBroadcast (ops/matmul_bcast), so no lane idles in a K split of 6 steps.
    // lavapipe, 1×48×151960 (loaded machine): n8 and n8w32 4-5× gemv.n8k8v4 (tn 4 2.5×, tn 16 2-3×).
    bcastGemv('bcast.n8', { tm: 1, tn: 8, wg: 8 }),
    bcastGemv('bcast.n8w32', { tm: 1, tn: 8, wg: 32 }),
    bcastGemv('bcast.n4w64', { tm: 1, tn: 4, wg: 64 }),
  ],
  attention: [
    // Head dims in registers, QR query rows per loaded K/V vector, KB keys a block; keys are
    // not split (prefill only). s8: the 8 lanes of a subgroup share each block's K/V loads
    // (subgroupBroadcast), where lavapipe's per-lane loads cost ~5x a broadcast (bench kernels
    // --filter loads.). Listed first: where a class's default cannot run, the first candidate that
    // can stands in (small.qr8k8 for small.qr8k8s8 on SwiftShader's subgroups of 4).
    { name: 'small.qr8k8s8', params: { qr: 8, kb: 8, wg: 8, share: 8 }, when: (gpu) => gpu.hasSubgroupsOf(8), classes: ['smallD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    { name: 'small.qr8k8', params: { qr: 8, kb: 8, wg: 8 }, classes: ['smallD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    { name: 'small.qr4k4', params: { qr: 4, kb: 4, wg: 8 }, classes: ['smallD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    // The same kernel at the real head dims (72, 128), 2 pairs an invocation: q and the accumulators
    // are 2·D floats a lane (LLVM spills them to the stack, cheap beside per-lane loads). QR 4 ran
    // 1.3x faster still at D 72 but took 12 s to compile (36 s at D 128) on a cold shader cache.
    { name: 'small.qr2k8s8', params: { qr: 2, kb: 8, wg: 8, share: 8 }, when: (gpu) => gpu.hasSubgroupsOf(8), classes: ['largeD.prefill'], run: smallAttention } satisfies Candidate<'attention', SmallAttentionParams>,
    // minWorkgroups: split the keys until this many workgroups run (fills the CPU threads / the SMs).
    { name: 'fused.wg64.split32', params: { wg: 64, minWorkgroups: 32, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg16.split32', params: { wg: 16, minWorkgroups: 32, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg32.split8', params: { wg: 32, minWorkgroups: 8, minChunk: 64 }, run: fusedAttention },
    { name: 'fused.wg64.split256', params: { wg: 64, minWorkgroups: 256, minChunk: 32 }, run: fusedAttention },
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

/** The size of an op's call: all that classes, profile labels and the tuner's trials read of it. */
export interface Sizes {
  gemm: { M: number; K: number; N: number };
  gemv: { M: number; K: number; N: number };
  /** kvLength: keys attended (at decode, one step's); Lmax: the KV cache's capacity. */
  attention: { Lq: number; Hq: number; Hkv: number; D: number; Lmax: number; kvLength: number; causal: boolean };
  norm: { op: 'layerNorm' | 'rmsNorm'; rows: number; C: number };
  softmax: { rows: number; N: number };
  pointwise: { op: string; n: number };
  qgemm: { M: number; K: number; N: number; format: string };
  qgemv: { M: number; K: number; N: number; format: string };
}

const cols = (parts: readonly { w: { shape: readonly number[] } }[]): number => parts.reduce((n, p) => n + p.w.shape[0]!, 0);
const rowsOf = (x: Tensor): number => x.size / x.shape[x.rank - 1]!;
const linearSize = (c: LinearCall | QuantCall) => ({ M: c.M, K: c.K, N: cols(c.parts) });

export const sizeOf: { [O in OpName]: (call: Ops[O]['call']) => Sizes[O] } = {
  gemm: linearSize,
  gemv: linearSize,
  attention: (c) => ({ Lq: c.Lq, Hq: c.Hq, Hkv: c.Hkv, D: c.D, Lmax: c.Lmax, kvLength: c.kvLength, causal: c.causal }),
  norm: (c) => ({ op: c.op, rows: rowsOf(c.x), C: c.x.shape[c.x.rank - 1]! }),
  softmax: (c) => ({ rows: rowsOf(c.x), N: c.x.shape[c.x.rank - 1]! }),
  pointwise: (c) => ({ op: c.op, n: c.inputs[0]!.size }),
  qgemm: (c) => ({ ...linearSize(c), format: c.parts[0]!.w.format }),
  qgemv: (c) => ({ ...linearSize(c), format: c.parts[0]!.w.format }),
};

/** The shape class of a size (SHAPE_CLASSES). */
export const classOf: { [O in OpName]: (s: Sizes[O]) => string } = {
  gemm: (s) => gemmClass(s.K),
  gemv: (s) => gemvClass(s.K),
  attention: (s) => attentionClass(s.Lq, s.D),
  norm: (s) => rowClass('norm', s.C),
  softmax: (s) => rowClass('softmax', s.N),
  pointwise: () => 'any',
  qgemm: (s) => s.format,
  qgemv: (s) => s.format,
};

/** A size as the by-shape profile (LLAVA_ST_PROFILE=shapes) and `tune` label it. */
export const label: { [O in OpName]: (s: Sizes[O]) => string } = {
  gemm: (s) => `${s.M}×${s.K}×${s.N}`, // M×K×N
  gemv: (s) => `${s.M}×${s.K}×${s.N}`,
  // decode: one row per key count would make a row per token; the cache's capacity instead
  attention: (s) => `q ${s.Lq}×${s.Hq}×${s.D} kv ${s.Lq === 1 ? `≤${s.Lmax}` : s.kvLength}×${s.Hkv}${s.causal ? ' causal' : ''}`,
  norm: (s) => `${s.op} ${s.rows}×${s.C}`,
  softmax: (s) => `${s.rows}×${s.N}`,
  pointwise: (s) => `${s.op} ${s.n}`,
  qgemm: (s) => `${s.M}×${s.K}×${s.N} ${s.format}`,
  qgemv: (s) => `${s.M}×${s.K}×${s.N} ${s.format}`,
};

/** Multiply-adds (or elements) of one call: ranks the shapes of one class by the work they do. */
export const workOf: { [O in OpName]: (s: Sizes[O]) => number } = {
  gemm: (s) => s.M * s.K * s.N,
  gemv: (s) => s.M * s.K * s.N,
  attention: (s) => s.Lq * s.Hq * s.kvLength * s.D * (s.causal && s.Lq > 1 ? 0.5 : 1),
  norm: (s) => s.rows * s.C,
  softmax: (s) => s.rows * s.N,
  pointwise: (s) => s.n,
  qgemm: (s) => s.M * s.K * s.N,
  qgemv: (s) => s.M * s.K * s.N,
};

// (Built per op from sizeOf and classOf; the casts only restate that pairing to TypeScript.)
/** A call's shape class. */
export const classify: { [O in OpName]: (call: Ops[O]['call']) => string } = Object.fromEntries(
  OP_NAMES.map((op) => [op, (c: never) => (classOf[op] as (s: unknown) => string)(sizeOf[op](c))])) as never;

/** One size an op runs at, and how many calls a question makes at it. */
export interface Dispatch<O extends OpName = OpName> { op: O; size: Sizes[O]; calls: number }

/** What a model dispatches for one question (model/workload.ts derives it from config.json): the
 *  tuner times each class's candidates on these sizes rather than on its fixed trial. */
export interface Workload {
  /** Names the model and question in messages and the cache ("llava-st-synth, video question"). */
  name: string;
  dispatches: Dispatch[];
}

/** A dispatch's cache and profile label: `op:class size`. */
export const dispatchLabel = (d: Dispatch): string =>
  `${d.op}:${(classOf[d.op] as (s: unknown) => string)(d.size)} ${(label[d.op] as (s: unknown) => string)(d.size)}`;

export type AdapterClass = 'software' | 'integrated' | 'discrete';

/** Software rasterizers and CPU fallbacks; then integrated by vendor/name; the rest discrete. */
export function adapterClass(gpu: Gpu): AdapterClass {
  const a = gpu.adapter;
  const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
  if (/software|llvmpipe|lavapipe|swiftshader|warp|microsoft basic/.test(text)) return 'software';
  if (/apple|intel(?!.*\barc\b)|mali|adreno|powervr|radeon(\(tm\))? graphics|vega \d+ graphics|integrated/.test(text)) return 'integrated';
  return 'discrete';
}

/** A variant, or variants in order of preference (the first this device can run applies: e.g. a
 *  subgroup kernel, then what runs without subgroups of 8). */
type Preference = string | readonly string[];
/** A preference for every class of the op, or per class with '*' for the rest. */
type DefaultChoice = Preference | ({ '*': Preference } & Record<string, Preference>);
type Defaults = { [O in OpName]: DefaultChoice } & { dtype: (gpu: Gpu) => 'f32' | 'f16' };

/** The adapter class's default variants for one op and shape class, in order of preference. */
export function defaultVariants(cls: AdapterClass, op: OpName, shapeClass: string): readonly string[] {
  const d = DEFAULTS[cls][op];
  const pick = typeof d === 'string' || Array.isArray(d) ? d as Preference : (d as Record<string, Preference>)[shapeClass] ?? (d as { '*': Preference })['*'];
  return typeof pick === 'string' ? [pick] : pick;
}

/** The adapter class's first-choice default for one op and shape class. */
export const defaultVariant = (cls: AdapterClass, op: OpName, shapeClass: string): string => defaultVariants(cls, op, shapeClass)[0]!;

// Before a device is measured. software: measured on lavapipe (docs/design.md); the GPU columns are
// reasonable starting points that `llava-st tune` replaces with measurements.
export const DEFAULTS: Record<AdapterClass, Defaults> = {
  software: {
    // Without subgroups of 8 (SwiftShader's are 4): rows4x8 for small K, reg12x12 above.
    gemm: { '*': ['sub4x24.v4', 'reg12x12.k8'], smallK: ['sub4x16.v4', 'rows4x8.v4'] }, gemv: { '*': 'gemv.n8k8v4', smallK: ['bcast.n8', 'gemv.n8k8v4'] },
    attention: { '*': 'fused.wg64.split32', 'smallD.prefill': 'small.qr8k8s8', 'largeD.prefill': ['small.qr2k8s8', 'fused.wg64.split32'] },
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
export interface Measured {
  variant: string;
  /** The winner's time: on the class's fixed trial, or (tuned for a model) its calls' total per question. */
  ms: number;
  /** What it was measured on: the trial, or the model's sizes with their calls. */
  shape: string;
  /** Tuned for a model: each size timed, its calls a question, the winner's time a call, and the
   *  trial actually timed where the size was cut (ops/tune.ts: MAX_MACS; `ms` is scaled up). */
  shapes?: { shape: string; calls: number; ms: number; timedOn?: string }[];
  runnersUp: { variant: string; ms: number }[];
  /** Dropped after one run, over 3× the best so far on a shape (not timed further). */
  slow?: string[];
  failed?: string[];
}

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
  /** Tuned for a model's question (model/workload.ts): its name; absent: the fixed trials. */
  workload?: string;
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
  /** Dispatches counted by label while recording (record()). */
  private recording: Map<string, Dispatch> | undefined;

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
      const c = defaultVariants(this.adapterClass, op, cls).map(usable).find(Boolean) ?? table.find((t) => applies(this.gpu, t, cls));
      if (!c) throw new InputError(`no ${op} variant can run on this device`);
      choice = { candidate: c, source: 'default' };
    }
    this.memo.set(key, choice as unknown as { candidate: Candidate<OpName>; source: ChoiceSource });
    return choice;
  }

  /** Starts counting the size of every call run() makes (what a forward dispatches: test/model/workload). */
  record(): void {
    this.recording = new Map();
  }

  /** The calls counted since record(), by size; stops recording. */
  recorded(): Dispatch[] {
    const out = [...(this.recording?.values() ?? [])];
    this.recording = undefined;
    return out;
  }

  /** Runs an op's call with the variant chosen for its shape class. */
  run<O extends OpName>(op: O, call: Ops[O]['call']): Ops[O]['result'] {
    const size = sizeOf[op](call);
    const cls = (classOf[op] as (s: Sizes[O]) => string)(size);
    const { candidate } = this.choose(op, cls);
    const profiler = this.gpu.stream.profiling;
    const labelled = profiler?.byShape || this.recording ? dispatchLabel({ op, size, calls: 1 }) : '';
    if (this.recording) {
      const seen = this.recording.get(labelled);
      if (seen) seen.calls++;
      else this.recording.set(labelled, { op, size, calls: 1 } as Dispatch);
    }
    if (!profiler?.byShape) return candidate.run(call, { ...candidate.params, variant: candidate.name });
    const outer = profiler.context; // a scratch qgemm runs the gemm it chose inside its own call
    profiler.context = labelled;
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
