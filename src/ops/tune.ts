// The tuner: measures this device once, so that the kernel policy (ops/policy.ts) can choose by
// measurement. For each op and shape class it runs every candidate on a representative shape,
// checks the output against ops/reference (a candidate that disagrees is never timed), times the
// rest with GPU timestamps (median of 3 after a warm-up) and keeps the fastest. It also measures
// the f32 and f16 FMA rates that decide `--dtype auto`. The result is cached per adapter + driver +
// library version (ops/policy_store.ts); loadPolicy() reads the cache, or tunes on first use only:
// once a table is cached, running a model measures nothing.
//
// The cost is bounded: a time budget (default 30 s) after which the remaining classes keep the
// adapter class's defaults until `llava-st tune`; on an idle lavapipe the whole table takes ~10–20 s.
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
  CANDIDATES, OP_NAMES, applies, defaultVariant, SHAPE_CLASSES, policyFor, policyKey, policyKeyId,
  type Candidate, type Measured, type OpName, type Ops, type Policy, type TunedTable,
} from './policy.js';
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
 * Checks, then times, every candidate of one op on one trial; the winner first. Timing is in
 * rounds: every surviving candidate once a round, in turn, so that a change of load on the machine
 * falls on all of them alike; each candidate's figure is the median of its rounds.
 */
export async function measureClass<O extends OpName>(gpu: Gpu, timer: GpuTimer, op: O, cls: string, dtype: F, rounds = 3): Promise<Measured> {
  const trial = TRIALS[op][cls] as Trial<O>;
  const t = trial.make(gpu, dtype);
  try {
    const want = t.want();
    const failed: string[] = [];
    const byDefault = defaultVariant(policyFor(gpu).adapterClass, op, cls);
    // Check each candidate and time it once (after a warm-up run: compile, first touch of memory).
    const screened: { variant: string; work: () => void; first: number; runs: number[] }[] = [];
    for (const c of CANDIDATES[op] as readonly Candidate<O>[]) {
      if (!applies(gpu, c, cls)) continue;
      const params = { ...c.params, variant: c.name };
      const work = () => { const r = t.output(c.run(t.call, params)); if (t.fresh) r.dispose(); };
      const out = t.output(c.run(t.call, params));
      const problem = mismatch(await out.toArray(), want, t.tol);
      if (t.fresh) out.dispose();
      if (problem) { failed.push(`${c.name}: ${problem}`); continue; }
      screened.push({ variant: c.name, work, first: (await timer.time(work)).ms, runs: [] });
    }
    if (!screened[0]) throw new Error(`tune: no ${op} variant passed its check on ${trial.shape} (${failed.join('; ')})`);
    // A candidate 3× slower than the best first run is not timed again (one bad variant, e.g.
    // 256-lane norms on lavapipe at ~100× the best, would otherwise dominate the tuning time).
    const bestFirst = Math.min(...screened.map((c) => c.first));
    const contenders = screened.filter((c) => c.first <= 3 * bestFirst || c.variant === byDefault);
    for (let r = 0; r < rounds; r++) {
      // The JS thread sleeps through most of a run (core/timer.ts): the expected time is its best so far.
      for (const c of contenders) c.runs.push((await timer.time(c.work, Math.min(c.first, ...c.runs))).ms);
    }
    const times = screened.map((c) => ({ variant: c.variant, ms: c.runs.length ? median(c.runs) : c.first })).sort((a, b) => a.ms - b.ms);
    const winner = pickWinner(times, byDefault);
    return { variant: winner.variant, ms: winner.ms, shape: trial.shape, runnersUp: times.filter((x) => x !== winner), ...(failed.length ? { failed } : {}) };
  } finally {
    t.dispose();
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
    const winners: Record<string, Measured> = { ...opts.keep };
    for (const op of opts.ops ?? OP_NAMES) {
      for (const cls of SHAPE_CLASSES[op]) {
        if (winners[`${op}:${cls}`]) continue;
        if (performance.now() - t0 > budget) { log(`${op}:${cls} not tuned (budget of ${(budget / 1000).toFixed(0)} s spent): default until \`llava-st tune\``); continue; }
        const m = await measureClass(gpu, timer, op, cls, dtype);
        winners[`${op}:${cls}`] = m;
        log(formatMeasured(`${op}:${cls}`, m));
      }
    }
    const tuneMs = performance.now() - t0;
    return { schema: 1, key: policyKey(gpu), created: new Date().toISOString(), tuneMs, fma, dtype, winners };
  } finally {
    timer.destroy();
  }
}

export function formatMeasured(key: string, m: Measured): string {
  const rest = m.runnersUp.map((r) => `${r.variant} ${r.ms.toFixed(2)}`).join(', ');
  return `${key.padEnd(26)} ${m.shape.padEnd(30)} ${m.variant} ${m.ms.toFixed(2)} ms${rest ? `  (then ${rest})` : ''}${m.failed ? `  FAILED CHECK: ${m.failed.join('; ')}` : ''}`;
}

export type TuneMode = 'auto' | 'off' | 'force';

export interface LoadOptions extends TuneOptions {
  /** auto: use the cache, tune on first use; off: defaults only (no cache, no tuning); force: tune again. Default: env LLAVA_ST_TUNE, else auto. */
  mode?: TuneMode;
  store?: PolicyStore;
}

function envMode(): TuneMode {
  const v = typeof process !== 'undefined' ? process.env?.LLAVA_ST_TUNE : undefined;
  return v === 'off' || v === '0' ? 'off' : v === 'force' ? 'force' : 'auto';
}

/** Reads a cached table; undefined when absent, unreadable or for another adapter/driver/library. */
function parseTable(text: string | undefined, id: string, log: (s: string) => void): TunedTable | undefined {
  if (text === undefined) return undefined;
  try {
    const t = JSON.parse(text) as TunedTable;
    if (t.schema === 1 && JSON.stringify(t.key) !== undefined && policyKeyId(t.key) === id.replace(/^policy-/, '') && t.winners) return t;
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
  const id = `policy-${policyKeyId(policyKey(gpu))}`;
  const cached = parseTable(await store.load(id), id, log);
  let table = mode === 'force' ? undefined : cached;
  if (!table) {
    log(`tuning the kernel table of this adapter (${mode === 'force' ? 'forced' : 'once'}; cached in ${store.where(id)})`);
    const t0 = performance.now();
    // Tuning some ops again keeps the cached winners of the others.
    const keep = mode === 'force' && cached && opts.ops ? Object.fromEntries(Object.entries(cached.winners).filter(([k]) => !opts.ops!.includes(k.split(':')[0] as OpName))) : undefined;
    table = await tune(gpu, { ...opts, ...(keep ? { keep } : {}) });
    await store.save(id, JSON.stringify(table, null, 1) + '\n');
    log(`tuned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const missing = (opts.ops ?? OP_NAMES).flatMap((op) => SHAPE_CLASSES[op].filter((cls) => !table.winners[`${op}:${cls}`]).map((cls) => `${op}:${cls}`));
  if (missing.length && mode !== 'force') log(`${missing.length} shape classes not measured yet (${missing.join(', ')}): defaults there until \`llava-st tune\``);
  policy.useTuned(table);
  return policy;
}
