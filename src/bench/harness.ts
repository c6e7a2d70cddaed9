// Times benchmark cases: each case's output is checked against its reference on the benchmark
// shape first (a wrong kernel is never timed), then benny drives the timing loop (warm-up excluded,
// several samples), and GPU timestamp queries give the device-side median where available.
// Figures are reported with the fraction of the adapter's measured ceiling. For a case that runs a
// policy-chosen op (ops/policy.ts), the variant the policy picked is named, and every other candidate
// is forced in turn, checked and timed on the same shape: the runners-up, as multiples of the pick.
import b from 'benny';
import type { Gpu } from '../core/device.js';
import { GpuTimer } from '../core/timer.js';
import type { BenchCase, PreparedCase } from './case.js';
import type { Ceilings } from './ceilings.js';
import { timeMedian } from '../ops/tune.js';
import { CANDIDATES, applies, policyFor, type Candidate, type ChoiceSource, type OpName } from '../ops/policy.js';

export interface BenchResult {
  name: string;
  shape: string;
  status: 'ok' | 'check-failed' | 'error';
  problem?: string;
  /** Median GPU time of one run (timestamp queries) or wall time per run (benny) without them. */
  ms?: number;
  /** Wall time per run from benny's loop (submit + wait included). */
  wallMs?: number;
  gflops?: number;
  gbs?: number;
  /** Rate as a fraction of the adapter's ceiling for this case's bound. */
  ofCeiling?: number;
  /** The policy's variant for this case, and why (forced, measured or default). */
  variant?: string;
  source?: ChoiceSource;
  /** The other candidates on this shape: GPU time (ms), or the check they failed. */
  runnersUp?: { variant: string; ms?: number; problem?: string }[];
}

function ceilingFor(c: BenchCase, ceilings: Ceilings): number | null {
  if (c.bound === 'memory') return ceilings.copyGBs;
  if (c.bound === 'compute-f16') return ceilings.fmaF16GFlops;
  return ceilings.fmaF32GFlops;
}

async function bennyWallMs(name: string, fn: () => Promise<void>, maxTime: number): Promise<number> {
  let ops = NaN;
  await b.suite(name,
    b.add(name, fn),
    b.configure({ cases: { minSamples: 3, maxTime, delay: 0 } }),
    b.complete((summary) => { ops = summary.results[0]?.ops ?? NaN; }),
  );
  return 1000 / ops;
}

/** Forces each other candidate of the case's op and shape class, checks it, then times it. */
async function runnersUp(gpu: Gpu, timer: GpuTimer, op: OpName, cls: string, picked: string, prepared: PreparedCase): Promise<NonNullable<BenchResult['runnersUp']>> {
  const policy = policyFor(gpu);
  const out: NonNullable<BenchResult['runnersUp']> = [];
  for (const cand of CANDIDATES[op] as readonly Candidate<OpName>[]) {
    if (cand.name === picked || !applies(gpu, cand, cls)) continue;
    policy.force(`${op}:${cls}=${cand.name}`);
    try {
      const problem = await prepared.check();
      if (problem) { out.push({ variant: cand.name, problem }); continue; }
      out.push({ variant: cand.name, ms: await timeMedian(timer, () => { const o = prepared.run(); if (o) o.dispose(); }, 3) });
    } catch (e) {
      out.push({ variant: cand.name, problem: (e as Error).message });
    } finally {
      policy.force(process.env.LLAVA_ST_KERNEL ?? '');
    }
  }
  return out.sort((a, b) => (a.ms ?? Infinity) - (b.ms ?? Infinity));
}

export async function runCase(gpu: Gpu, c: BenchCase, ceilings: Ceilings, opts: { maxTime?: number; samples?: number; runnersUp?: boolean } = {}): Promise<BenchResult> {
  const base: BenchResult = { name: c.name, shape: c.shape, status: 'ok' };
  let prepared;
  try {
    prepared = await c.prepare(gpu);
  } catch (e) {
    return { ...base, status: 'error', problem: (e as Error).message };
  }
  const timer = new GpuTimer(gpu);
  try {
    const problem = await prepared.check();
    if (problem) return { ...base, status: 'check-failed', problem };
    const once = () => { const out = prepared.run(); if (out) out.dispose(); };
    const gpuTime = await timeMedian(timer, once, opts.samples ?? 5);
    const wallMs = await bennyWallMs(c.name, async () => { once(); await gpu.sync(); }, opts.maxTime ?? 1);
    const ms = gpu.hasTimestamps ? gpuTime : wallMs;
    const pick = c.policy ? policyFor(gpu).choose(c.policy.op, c.policy.cls) : undefined;
    const policyInfo = c.policy && pick ? {
      variant: pick.candidate.name, source: pick.source,
      ...(opts.runnersUp !== false ? { runnersUp: await runnersUp(gpu, timer, c.policy.op, c.policy.cls, pick.candidate.name, prepared) } : {}),
    } : {};
    const gflops = c.flops ? c.flops / (ms * 1e6) : undefined;
    const gbs = c.bytes ? c.bytes / (ms * 1e6) : undefined;
    const ceiling = ceilingFor(c, ceilings);
    const rate = c.bound === 'memory' ? gbs : gflops;
    return { ...base, ms, wallMs, ...(gflops !== undefined ? { gflops } : {}), ...(gbs !== undefined ? { gbs } : {}),
      ...(rate !== undefined && ceiling ? { ofCeiling: rate / ceiling } : {}), ...policyInfo };
  } catch (e) {
    return { ...base, status: 'error', problem: (e as Error).message };
  } finally {
    timer.destroy();
    prepared.dispose();
  }
}

export function formatResults(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name, r.shape,
    r.status === 'ok' ? r.ms!.toFixed(3) : r.status.toUpperCase(),
    r.gflops !== undefined ? r.gflops.toFixed(2) : '',
    r.gbs !== undefined ? r.gbs.toFixed(2) : '',
    r.ofCeiling !== undefined ? `${(100 * r.ofCeiling).toFixed(1)}%` : '',
    r.variant ? `${r.variant} (${r.source})` : '',
    (r.runnersUp ?? []).map((u) => (u.ms !== undefined && r.ms ? `${u.variant} ${(u.ms / r.ms).toFixed(2)}×` : `${u.variant} FAILED`)).join(', '),
    r.problem ?? '',
  ]);
  const head = ['kernel', 'shape', 'ms', 'GFLOP/s', 'GB/s', 'of ceiling', 'variant', 'runners-up (time ÷ the pick\'s)', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
