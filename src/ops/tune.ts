// The tuner: measures this device once, so that the kernel policy (ops/policy.ts) can choose by
// measurement. For each op and shape class it runs every candidate on the sizes that class will
// run, checks the output against ops/reference (a candidate that disagrees, or cannot run a size,
// is never timed), times the rest with GPU timestamps (median of 3 interleaved rounds after a
// warm-up) and keeps the fastest. Which sizes: given a model's workload (model/workload.ts: what
// its question dispatches), each class's costliest few, weighted by their calls; else one fixed
// trial a class (TRIALS), which can mislead: a tile that wins at 4096×48×128 lost 4× at the demo
// model's 2589×128×48. It also measures the f32 and f16 FMA rates that decide `--dtype auto`. The
// result is cached per adapter + driver + library version (+ workload) (ops/policy_store.ts);
// loadPolicy() reads the cache, or tunes on first use only: once a table is cached, running a
// model measures nothing.
//
// The cost is bounded: a time budget (default 30 s) after which the remaining classes keep the
// adapter class's defaults until `llava-st tune` (a class under way finishes); on an idle lavapipe
// the fixed trials take ~10–20 s, the demo model's own sizes ~90 s under load (`tune --model`).
import type { Gpu } from '../core/device.js';
import { fromF16, toF16 } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { GpuTimer, median } from '../core/timer.js';
import { matmulRef } from './reference/matmul.js';
import { attentionRef } from './reference/attention.js';
import { layerNormRef } from './reference/norm.js';
import { softmaxRef } from './reference/softmax.js';
import { geluRef } from './reference/activation.js';
import { dequantizeGroups, quantizeGroups, type QuantFormat } from '../core/quant.js';
import { QuantTensor } from './quant_linear.js';
import {
  CANDIDATES, GEMV_MAX_ROWS, OP_NAMES, applies, classOf, defaultVariant, label, SHAPE_CLASSES, policyFor, policyKey, policyKeyId, workOf,
  type Candidate, type Dispatch, type Measured, type OpName, type Ops, type Policy, type Sizes, type TunedTable, type Workload,
} from './policy.js';
import { fnv1a } from '../core/kernel.js';
import { defaultStore, type PolicyStore } from './policy_store.js';

type F = 'f32' | 'f16';

/** GFLOP/s of register-only FMAs: 8 independent vec4 chains per invocation (wgsl/ceilings.wgsl). */
export async function fmaRate(gpu: Gpu, timer: GpuTimer, dtype: F, size: { invocations: number; iters: number; wg: number; reps: number; polling?: boolean }): Promise<number> {
  const { invocations, iters, wg, reps } = size;
  const x = Tensor.zeros(gpu, [invocations * 4], dtype), y = Tensor.empty(gpu, [invocations * 4], dtype);
  try {
    const k = gpu.kernels.get({ source: 'ceilings', entryPoint: 'fma_rate', defines: { T: dtype }, constants: { WG: wg }, ...(dtype === 'f16' ? { enables: ['f16'] } : {}) });
    const work = () => k.dispatch([x.binding(), y.binding()], invocations / wg, new Uint32Array([invocations, iters, 0, 0]));
    const ms = await timeMedian(timer, work, reps, !size.polling);
    return (invocations * iters * 8 * 4 * 2) / (ms * 1e6);
  } finally {
    x.dispose(); y.dispose();
  }
}

/** Median GPU time of `reps` runs after one warm-up (compile, first touch of memory); the JS
 *  thread sleeps through each run unless `idle` is false (core/timer.ts says why). */
export async function timeMedian(timer: GpuTimer, work: () => void, reps: number, idle = true): Promise<number> {
  const first = (await timer.time(work)).ms;
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) runs.push((await timer.time(work, !idle ? 0 : runs.length ? Math.min(...runs) : first)).ms);
  return median(runs);
}

/** A representative problem of one shape class: inputs, the reference output, and a tolerance. */
interface Trial<O extends OpName> {
  shape: string;
  make(gpu: Gpu, dtype: F): {
    call: Ops[O]['call'];
    /** The output of a run: the call's own y for the recording ops (linear), else the result. */
    output(result: Ops[O]['result']): Tensor;
    /** Whether output() is a new tensor each run (to dispose). */
    fresh: boolean;
    want(): Float32Array;
    tol: { atol: number; rtol: number };
    dispose(): void;
  };
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

/** Random values exactly representable in `dtype`, and their tensor. */
function input(gpu: Gpu, n: number, seed: number, shape: number[], dtype: F): [Float32Array, Tensor] {
  const a = random(n, seed);
  if (dtype === 'f32') return [a, Tensor.fromArray(gpu, a, shape, 'f32')];
  const bits = toF16(a);
  return [fromF16(bits), Tensor.fromArray(gpu, bits, shape, 'f16')];
}

// f16 outputs are rounded to half once: 2^-11 relative, plus f32 accumulation as in the op tests.
const tolOf = (dtype: F, atol: number) => (dtype === 'f16' ? { atol: atol + 2e-3, rtol: 2e-3 } : { atol, rtol: 1e-4 });

function linearTrial(M: number, K: number, N: number): Trial<'gemm'> {
  return {
    shape: `${M}×${K}×${N}`,
    make(gpu, dtype) {
      const [x, tx] = input(gpu, M * K, 1, [M, K], dtype), [w, tw] = input(gpu, N * K, 2, [N, K], dtype);
      const y = Tensor.empty(gpu, [M, N], dtype, 'tune.y');
      return {
        call: { x: tx, parts: [{ w: tw, ycol0: 0, bcol0: 0 }], y, M, K },
        output: () => y,
        fresh: false,
        want: () => matmulRef(x, w, M, N, K),
        tol: tolOf(dtype, 2e-6 * K),
        dispose() { tx.dispose(); tw.dispose(); y.dispose(); },
      };
    },
  };
}

/** A linear layer over a q8/q4 weight (groups of 32); the reference multiplies the dequantized weight. */
function quantTrial(M: number, K: number, N: number, format: QuantFormat): Trial<'qgemm'> {
  return {
    shape: `${M}×${K}×${N} ${format}`,
    make(gpu, dtype) {
      const [x, tx] = input(gpu, M * K, 1, [M, K], dtype), w = random(N * K, 2);
      const q = quantizeGroups(w, format, 32);
      const tw = QuantTensor.fromArray(gpu, w, [N, K], format, 32, 'tune.w');
      const y = Tensor.empty(gpu, [M, N], dtype, 'tune.y');
      return {
        call: { x: tx, parts: [{ w: tw, ycol0: 0, bcol0: 0 }], y, M, K },
        output: () => y,
        fresh: false,
        want: () => matmulRef(x, dequantizeGroups(q.codes, q.groups, N * K, format, 32), M, N, K),
        tol: tolOf(dtype, 2e-6 * K),
        dispose() { tx.dispose(); tw.dispose(); y.dispose(); },
      };
    },
  };
}

function attentionTrial(Lq: number, Hq: number, Hkv: number, D: number, kvLength: number, causal: boolean): Trial<'attention'> {
  return {
    shape: `${Lq}×${Hq}/${Hkv}×${D}, ${kvLength} keys${causal ? ', causal' : ''}`,
    make(gpu, dtype) {
      const [q, tq] = input(gpu, Lq * Hq * D, 1, [Lq, Hq, D], dtype);
      const [k, tk] = input(gpu, Hkv * kvLength * D, 2, [Hkv, kvLength, D], dtype);
      const [v, tv] = input(gpu, Hkv * kvLength * D, 3, [Hkv, kvLength, D], dtype);
      const a = { Lq, Hq, Hkv, D, Lmax: kvLength, kvLength, causal, qOffset: causal ? kvLength - Lq : 0, scale: 1 / Math.sqrt(D) };
      return {
        call: { q: tq, k: tk, v: tv, ...a, dtype },
        output: (o) => o,
        fresh: true,
        want: () => attentionRef(q, k, v, a),
        tol: tolOf(dtype, 2e-5),
        dispose() { tq.dispose(); tk.dispose(); tv.dispose(); },
      };
    },
  };
}

function normTrial(R: number, C: number): Trial<'norm'> {
  return {
    shape: `${R}×${C}`,
    make(gpu, dtype) {
      const [x, tx] = input(gpu, R * C, 1, [R, C], dtype), [w, tw] = input(gpu, C, 2, [C], dtype), [b, tb] = input(gpu, C, 3, [C], dtype);
      return {
        call: { op: 'layerNorm', x: tx, weight: tw, bias: tb, eps: 1e-6 },
        output: (o) => o,
        fresh: true,
        want: () => layerNormRef(x, C, w, b, 1e-6, dtype),
        tol: tolOf(dtype, 1e-4),
        dispose() { tx.dispose(); tw.dispose(); tb.dispose(); },
      };
    },
  };
}

function softmaxTrial(R: number, N: number): Trial<'softmax'> {
  return {
    shape: `${R}×${N}`,
    make(gpu, dtype) {
      const [x, tx] = input(gpu, R * N, 1, [R, N], dtype);
      return { call: { x: tx }, output: (o) => o, fresh: true, want: () => softmaxRef(x, R, N), tol: tolOf(dtype, 1e-6), dispose() { tx.dispose(); } };
    },
  };
}

function pointwiseTrial(n: number): Trial<'pointwise'> {
  return {
    shape: `${n}`,
    make(gpu, dtype) {
      const [x, tx] = input(gpu, n, 1, [n], dtype);
      return {
        call: { op: 'gelu_tanh', inputs: [tx], expr: 'gelu_tanh(va(j))' }, output: (o) => o, fresh: true,
        want: () => geluRef(x, 'tanh', dtype), tol: tolOf(dtype, 1e-6), dispose() { tx.dispose(); },
      };
    },
  };
}

/** The representative shape of every class (SHAPE_CLASSES in ops/policy.ts): sized to take
 *  milliseconds on lavapipe, and to resemble the demo model (K = 32/48, head dims 16/24) and the 7B. */
export const TRIALS: { [O in OpName]: Record<string, Trial<O>> } = {
  gemm: { smallK: linearTrial(4096, 48, 128), midK: linearTrial(256, 512, 256), largeK: linearTrial(32, 2048, 512) },
  // smallK: the demo's lm_head (K = 48) over a third of its vocabulary; 2048×4096 a 7B-like row.
  gemv: { smallK: linearTrial(1, 48, 50000) as unknown as Trial<'gemv'>, largeK: linearTrial(1, 2048, 4096) as unknown as Trial<'gemv'> },
  attention: {
    'smallD.prefill': attentionTrial(729, 2, 2, 16, 729, false),
    'smallD.decode': attentionTrial(1, 2, 1, 24, 2600, true),
    'largeD.prefill': attentionTrial(256, 4, 4, 72, 256, false),
    'largeD.decode': attentionTrial(1, 8, 2, 128, 1024, true),
  },
  norm: { narrow: normTrial(8192, 48), wide: normTrial(256, 2048) },
  softmax: { narrow: softmaxTrial(4096, 128), wide: softmaxTrial(32, 8192) },
  pointwise: { any: pointwiseTrial(1 << 20) },
  // 128 rows, not fewer: at 64 rows a 4-row tile won here, and lost 2.2x at the vision tower's 729 rows.
  qgemm: { q8: quantTrial(128, 1024, 512, 'q8'), q4: quantTrial(128, 1024, 512, 'q4') },
  qgemv: { q8: quantTrial(1, 2048, 4096, 'q8') as unknown as Trial<'qgemv'>, q4: quantTrial(1, 2048, 4096, 'q4') as unknown as Trial<'qgemv'> },
};

// A model's sizes are timed as they are up to these bounds (a 7B's vision GEMM, 100 frames of
// 729×1152×4304, would take minutes a run here; the demo's 72900×48×48, 170 M multiply-adds, ~0.1 s
// a run and as long for its reference check); past them the rows (or a GEMV's columns, a norm's
// rows, a prefill's queries) are cut, at least to MIN_ROWS, and the time scaled up by the work cut.
const MAX_MACS = 2 ** 26;
const MIN_ROWS = 256;
const MAX_WEIGHT = 2 ** 24;
/** Shapes timed per class: its costliest few (calls × work) carry nearly all of its time. */
export const TOP_SHAPES = 3;

/** A trial of a model's size, cut to the bounds above, and the factor from its work to the size's. */
const trialOf: { [O in OpName]: (s: Sizes[O]) => { trial: Trial<O>; scale: number } } = {
  gemm: (s) => linearOf(s, (M, N) => linearTrial(M, s.K, N)),
  gemv: (s) => linearOf(s, (M, N) => linearTrial(M, s.K, N) as unknown as Trial<'gemv'>),
  qgemm: (s) => linearOf(s, (M, N) => quantTrial(M, s.K, N, s.format as QuantFormat)),
  qgemv: (s) => linearOf(s, (M, N) => quantTrial(M, s.K, N, s.format as QuantFormat) as unknown as Trial<'qgemv'>),
  attention: (s) => {
    // A prefill's last Lq queries (causal: they see every key), as many as the bound allows.
    const Lq = s.Lq === 1 ? 1 : Math.min(s.Lq, Math.max(MIN_ROWS, Math.floor(MAX_MACS / (s.Hq * s.kvLength * s.D))));
    const trial = attentionTrial(Lq, s.Hq, s.Hkv, s.D, s.kvLength, s.causal);
    return { trial, scale: workOf.attention(s) / workOf.attention({ ...s, Lq }) };
  },
  norm: (s) => rowsOf(s.rows, s.C, (rows) => normTrial(rows, s.C)),
  softmax: (s) => rowsOf(s.rows, s.N, (rows) => softmaxTrial(rows, s.N)),
  // Every activation times as gelu_tanh: the variants differ in how units spread, not in the math.
  pointwise: (s) => ({ trial: pointwiseTrial(Math.min(s.n, MAX_WEIGHT)), scale: s.n / Math.min(s.n, MAX_WEIGHT) }),
};

function linearOf<T>(s: { M: number; K: number; N: number }, make: (M: number, N: number) => T): { trial: T; scale: number } {
  const N = Math.min(s.N, Math.max(1, Math.floor(MAX_WEIGHT / s.K)));
  const M = s.M <= GEMV_MAX_ROWS ? s.M : Math.min(s.M, Math.max(MIN_ROWS, Math.floor(MAX_MACS / (s.K * N))));
  return { trial: make(M, N), scale: (s.M * s.N) / (M * N) };
}

function rowsOf<T>(rows: number, C: number, make: (rows: number) => T): { trial: T; scale: number } {
  const r = Math.min(rows, Math.max(1, Math.floor(MAX_WEIGHT / C)));
  return { trial: make(r), scale: rows / r };
}

/** One shape a class is timed on: its trial, and the weight of its time in the class's total. */
export interface Timing<O extends OpName = OpName> { trial: Trial<O>; shape: string; calls: number; scale: number }

/**
 * What `op:cls` is timed on. With a workload: the class's costliest TOP_SHAPES sizes of the model
 * (quantized classes: its float linear sizes in that format, where groups of 32 tile K), each
 * weighted by its calls; the class's fixed trial where the model runs none of it. Without: the
 * fixed trial alone.
 */
export function timingsOf<O extends OpName>(op: O, cls: string, workload?: Workload): Timing<O>[] {
  const float = op === 'qgemm' ? 'gemm' : op === 'qgemv' ? 'gemv' : op;
  const sizes = (workload?.dispatches ?? [])
    .filter((d) => d.op === float)
    .map((d) => (float === op ? d : { ...d, op, size: { ...d.size, format: cls } }) as Dispatch<O>)
    .filter((d) => (op === 'qgemm' || op === 'qgemv' ? (d.size as Sizes['qgemm']).K % 32 === 0 : true))
    .filter((d) => (classOf[op] as (s: Sizes[O]) => string)(d.size) === cls)
    .sort((a, b) => b.calls * (workOf[op] as (s: Sizes[O]) => number)(b.size) - a.calls * (workOf[op] as (s: Sizes[O]) => number)(a.size))
    .slice(0, TOP_SHAPES);
  if (sizes.length === 0) { const trial = TRIALS[op][cls] as Trial<O>; return [{ trial, shape: trial.shape, calls: 1, scale: 1 }]; }
  return sizes.map((d) => {
    const { trial, scale } = (trialOf[op] as (s: Sizes[O]) => { trial: Trial<O>; scale: number })(d.size);
    return { trial, shape: (label[op] as (s: Sizes[O]) => string)(d.size), calls: d.calls, scale };
  });
}

/** The `op:class` keys a workload runs. */
const workloadClasses = (w: Workload): Set<string> => new Set(w.dispatches.map((d) => `${d.op}:${classOf[d.op](d.size as never)}`));

/** Names a workload's sizes in the cache key: a table tuned for one model is not another's. */
export function workloadId(w: Workload): string {
  return fnv1a(JSON.stringify(w.dispatches));
}

/** What a stored entry of this adapter, driver and library version (and model workload) is named
 *  after: `policy-<suffix>` (loadPolicy), `kernels-<suffix>` (ops/warmup.ts). */
export function storeSuffix(gpu: Gpu, workload?: (dtype: F) => Workload): string {
  const key = policyKeyId(policyKey(gpu));
  return workload ? `${key}-${workloadId(workload('f32'))}` : key;
}

function mismatch(got: ArrayLike<number>, want: Float32Array, tol: { atol: number; rtol: number }): string | undefined {
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (!(Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w))) return `element ${i} is ${g}, want ${w}`;
  }
  return undefined;
}

/**
 * A challenger must beat the adapter class's default by this share to replace it: on a shared,
 * noisy machine two variants within a few percent swap places from run to run, and a flip costs
 * more when the trial misjudges the real shapes than it gains when it is right.
 */
export const WIN_MARGIN = 0.1;

/** The fastest of `times` (sorted, fastest first), unless it beats the default by less than WIN_MARGIN. */
export function pickWinner<T extends { variant: string; ms: number }>(times: readonly T[], byDefault: string | undefined): T {
  const incumbent = times.find((x) => x.variant === byDefault);
  return incumbent && times[0]!.ms > (1 - WIN_MARGIN) * incumbent.ms ? incumbent : times[0]!;
}

/**
 * Checks, then times, every candidate of one op on the class's shapes (timingsOf); the winner
 * first. A candidate's figure is its time on each shape × that shape's calls (× the work a cut
 * trial left out), summed: what the class costs the model's question (one call with no workload).
 * Timing is in rounds: every surviving candidate once a round on each shape, in turn, so that a
 * change of load on the machine falls on all of them alike; each figure is a median of rounds.
 * A candidate that fails its check or cannot run a shape (a device limit) is out.
 */
export async function measureClass<O extends OpName>(gpu: Gpu, timer: GpuTimer, op: O, cls: string, dtype: F, rounds = 3, workload?: Workload): Promise<Measured> {
  const timings = timingsOf(op, cls, workload);
  const made = timings.map((t) => t.trial.make(gpu, dtype));
  try {
    const wants = made.map((t) => t.want());
    const failed: string[] = [];
    const byDefault = defaultVariant(policyFor(gpu).adapterClass, op, cls);
    // Check each candidate on each shape and time it once (after a warm-up run: compile, first touch of memory).
    const screened: { variant: string; works: (() => void)[]; first: number[]; runs: number[][] }[] = [];
    // A candidate 3× slower than the best first run on the costliest shape is not timed again, nor
    // run on the class's other shapes (one bad variant, e.g. 256-lane norms on lavapipe at ~100× the
    // best, would otherwise dominate the tuning time). Only there: a small shape's first run can
    // read 0 ms, and it weighs little anyway.
    let bestFirst = Infinity;
    const slow: string[] = [];
    candidates: for (const c of CANDIDATES[op] as readonly Candidate<O>[]) {
      if (!applies(gpu, c, cls)) continue;
      const params = { ...c.params, variant: c.name };
      const works = made.map((t) => () => { const r = t.output(c.run(t.call, params)); if (t.fresh) r.dispose(); });
      const first: number[] = [];
      for (const [i, t] of made.entries()) {
        let problem: string | undefined;
        try {
          const out = t.output(c.run(t.call, params));
          problem = mismatch(await out.toArray(), wants[i]!, t.tol);
          if (t.fresh) out.dispose();
        } catch (e) {
          problem = (e as Error).message;
        }
        if (problem) { failed.push(`${c.name} on ${timings[i]!.trial.shape}: ${problem}`); continue candidates; }
        first.push((await timer.time(works[i]!)).ms);
        if (i > 0) continue;
        bestFirst = Math.min(bestFirst, first[0]!);
        if (first[0]! > 3 * bestFirst && c.name !== byDefault) { slow.push(`${c.name} (${(first[0]! / bestFirst).toFixed(1)}× on ${timings[0]!.shape})`); continue candidates; }
      }
      screened.push({ variant: c.name, works, first, runs: made.map(() => []) });
    }
    const shapes = timings.map((t) => t.trial.shape).join(', ');
    if (!screened[0]) throw new Error(`tune: no ${op} variant passed its check on ${shapes} (${failed.join('; ')})`);
    const total = (perShape: number[]) => perShape.reduce((sum, ms, i) => sum + ms * timings[i]!.calls * timings[i]!.scale, 0);
    const bestTotal = Math.min(...screened.map((c) => total(c.first)));
    const contenders = screened.filter((c) => total(c.first) <= 3 * bestTotal || c.variant === byDefault);
    for (let r = 0; r < rounds; r++) {
      // The JS thread sleeps through most of a run (core/timer.ts): the expected time is its best so far.
      for (const c of contenders) {
        for (const [i, work] of c.works.entries()) c.runs[i]!.push((await timer.time(work, Math.min(c.first[i]!, ...c.runs[i]!))).ms);
      }
    }
    const perShape = (c: (typeof screened)[number]) => c.runs.map((r, i) => (r.length ? median(r) : c.first[i]!));
    const times = screened.map((c) => ({ variant: c.variant, ms: total(perShape(c)), each: perShape(c) })).sort((a, b) => a.ms - b.ms);
    const winner = pickWinner(times, byDefault);
    return {
      variant: winner.variant, ms: winner.ms,
      shape: timings.map((t) => (workload ? `${t.shape} ×${t.calls}` : t.shape)).join(', '),
      ...(workload ? { shapes: timings.map((t, i) => ({ shape: t.shape, calls: t.calls, ms: winner.each[i]! * t.scale, ...(t.scale !== 1 ? { timedOn: t.trial.shape } : {}) })) } : {}),
      runnersUp: times.filter((x) => x !== winner).map(({ variant, ms }) => ({ variant, ms })),
      ...(slow.length ? { slow } : {}),
      ...(failed.length ? { failed } : {}),
    };
  } finally {
    for (const t of made) t.dispose();
  }
}

export interface TuneOptions {
  /** Progress lines. */
  log?: (line: string) => void;
  /** Stop starting new classes after this long (ms); the rest keep the defaults. Default 30 s. */
  budgetMs?: number;
  /** Only these ops (default: all). */
  ops?: readonly OpName[];
  /** Winners to keep as they are (the classes of ops not tuned this time). */
  keep?: Record<string, Measured>;
  /** Time each class on what this model dispatches (model/workload.ts) rather than its fixed trial;
   *  per compute dtype, which tuning measures first. The table is cached apart, per workload. */
  workload?: (dtype: F) => Workload;
}

/** Measures the FMA rates (dtype) and every op's shape classes; returns the table to cache. */
export async function tune(gpu: Gpu, opts: TuneOptions = {}): Promise<TunedTable> {
  const log = opts.log ?? (() => {});
  const budget = opts.budgetMs ?? 30_000;
  const t0 = performance.now();
  const timer = new GpuTimer(gpu);
  try {
    // ~30 ms a dispatch on lavapipe: enough to be stable for a decision, cheap enough for a first run.
    const size = { invocations: 32 * 1024, wg: 64, reps: 3 };
    const fma = { f32: await fmaRate(gpu, timer, 'f32', { ...size, iters: 512 }), f16: gpu.hasF16 ? await fmaRate(gpu, timer, 'f16', { ...size, iters: 128 }) : null };
    const { f32, f16 } = fma;
    // f16 only when it beats f32 by a clear margin (on lavapipe it is ~5× slower; on most GPUs ~2× faster).
    const dtype: F = f16 !== null && f16 > 1.25 * f32 ? 'f16' : 'f32';
    log(`fma f32 ${f32.toFixed(1)} GFLOP/s, f16 ${f16 === null ? 'n/a' : `${f16.toFixed(1)} GFLOP/s`}: compute dtype ${dtype}`);
    const workload = opts.workload?.(dtype);
    if (workload) log(`on the sizes of ${workload.name}`);
    const winners: Record<string, Measured> = { ...opts.keep };
    // With a workload, the classes it dispatches come first (the rest keep their fixed trials).
    const runs = workload && workloadClasses(workload);
    const used = (op: OpName, cls: string) => !runs || runs.has(`${op}:${cls}`);
    const classes = (opts.ops ?? OP_NAMES).flatMap((op) => SHAPE_CLASSES[op].map((cls) => [op, cls] as const));
    for (const [op, cls] of [...classes.filter(([o, c]) => used(o, c)), ...classes.filter(([o, c]) => !used(o, c))]) {
      if (winners[`${op}:${cls}`]) continue;
      if (performance.now() - t0 > budget) { log(`${op}:${cls} not tuned (budget of ${(budget / 1000).toFixed(0)} s spent): default until \`llava-st tune\``); continue; }
      const m = await measureClass(gpu, timer, op, cls, dtype, 3, workload);
      winners[`${op}:${cls}`] = m;
      log(formatMeasured(`${op}:${cls}`, m));
    }
    const tuneMs = performance.now() - t0;
    return { schema: 1, key: policyKey(gpu), created: new Date().toISOString(), tuneMs, fma, dtype, winners, ...(workload ? { workload: workload.name } : {}) };
  } finally {
    timer.destroy();
  }
}

export function formatMeasured(key: string, m: Measured): string {
  const rest = m.runnersUp.map((r) => `${r.variant} ${r.ms.toFixed(2)}`).join(', ');
  const tail = `${rest ? `  (then ${rest})` : ''}${m.slow ? `  (dropped, slow: ${m.slow.join(', ')})` : ''}${m.failed ? `  FAILED CHECK: ${m.failed.join('; ')}` : ''}`;
  if (!m.shapes) return `${key.padEnd(26)} ${m.shape.padEnd(30)} ${m.variant} ${m.ms.toFixed(2)} ms${tail}`;
  // Tuned for a model: the total a question spends in the class, then the sizes it was timed on.
  const on = m.shapes.map((s) => `${s.shape} ×${s.calls} at ${s.ms.toFixed(2)} ms${s.timedOn ? ` (timed on ${s.timedOn})` : ''}`).join(', ');
  return `${key.padEnd(26)} ${m.variant} ${m.ms.toFixed(1)} ms a question${tail}\n${' '.repeat(27)}on ${on}`;
}

export type TuneMode = 'auto' | 'off' | 'force' | 'read';

export interface LoadOptions extends TuneOptions {
  /** auto: use the cache, tune on first use; off: defaults only (no cache, no tuning); force: tune again;
   *  read: the cache if any, never tuning (`tune --show`). Default: env LLAVA_ST_TUNE, else auto.
   *  With a workload: its own table, else the adapter's table of fixed trials, else tune on its sizes. */
  mode?: TuneMode;
  store?: PolicyStore;
}

/** The mode LLAVA_ST_TUNE asks for (auto when unset). */
export function envMode(): TuneMode {
  const v = typeof process !== 'undefined' ? process.env?.LLAVA_ST_TUNE : undefined;
  return v === 'off' || v === '0' ? 'off' : v === 'force' ? 'force' : 'auto';
}

/** Reads a cached table; undefined when absent, unreadable or for another adapter/driver/library. */
function parseTable(text: string | undefined, id: string, log: (s: string) => void): TunedTable | undefined {
  if (text === undefined) return undefined;
  try {
    const t = JSON.parse(text) as TunedTable;
    if (t.schema === 1 && JSON.stringify(t.key) !== undefined && policyKeyId(t.key) === id.split('-')[1] && t.winners) return t;
  } catch { /* reported below */ }
  log('the cached kernel table is unreadable or stale: tuning again');
  return undefined;
}

/**
 * Loads this device's measured kernel choices into its policy: from the cache, or by tuning once
 * (first use, no cache yet) and caching the result. Once a table is cached nothing is measured
 * again here, even where the table is incomplete (a first run cut short by its budget): its missing
 * classes keep the defaults until `llava-st tune` (mode force) measures them. Returns the policy;
 * without a call, ops use the defaults.
 */
export async function loadPolicy(gpu: Gpu, opts: LoadOptions = {}): Promise<Policy> {
  const policy = policyFor(gpu);
  const mode = opts.mode ?? envMode();
  if (mode === 'off') return policy;
  const log = opts.log ?? (() => {});
  const store = opts.store ?? await defaultStore();
  const generic = `policy-${storeSuffix(gpu)}`;
  const id = `policy-${storeSuffix(gpu, opts.workload)}`;
  const cached = parseTable(await store.load(id), id, log);
  let table = mode === 'force' ? undefined : cached;
  // For a model without a table of its own, the adapter's table on the fixed trials, where one
  // exists, rather than tuning on the hot path (`llava-st tune --model` measures the model's).
  if (!table && opts.workload && mode !== 'force') {
    table = parseTable(await store.load(generic), generic, log);
    if (table) log(`using the adapter's table of fixed trials (\`llava-st tune --model DIR\` tunes on this model's sizes)`);
  }
  if (!table && mode === 'read') return policy;
  if (!table) {
    log(`tuning the kernel table of this adapter (${mode === 'force' ? 'forced' : 'once'}; cached in ${store.where(id)})`);
    const t0 = performance.now();
    // Tuning some ops again keeps the cached winners of the others.
    const keep = mode === 'force' && cached && opts.ops ? Object.fromEntries(Object.entries(cached.winners).filter(([k]) => !opts.ops!.includes(k.split(':')[0] as OpName))) : undefined;
    table = await tune(gpu, { ...opts, ...(keep ? { keep } : {}) });
    await store.save(id, JSON.stringify(table, null, 1) + '\n');
    log(`tuned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  // For a model, only the classes it runs matter.
  const runs = opts.workload && workloadClasses(opts.workload(table.dtype));
  const missing = (opts.ops ?? OP_NAMES).flatMap((op) => SHAPE_CLASSES[op].map((cls) => `${op}:${cls}`))
    .filter((k) => !table.winners[k] && (!runs || runs.has(k)));
  if (missing.length && mode !== 'force') log(`${missing.length} shape classes not measured yet (${missing.join(', ')}): defaults there until \`llava-st tune${opts.workload ? ' --model' : ''}\``);
  policy.useTuned(table);
  return policy;
}
