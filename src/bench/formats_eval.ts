// `llava-st bench formats`: what each weight format costs in answers, on an eval set in the
// llava-st-synth format (the demo model's by default). Each format is evaluated by `llava-st eval`
// in a process of its own (its --out file is resumed, so an interrupted run continues), then the
// answers are compared with f32's:
//   agreement  share of items whose answer token ids equal f32's, overall and per task
//   metrics    the set's own task metrics (tasks/set_metrics.ts) and their change from f32
// The subset is fixed (the first `perTask` items of each task, in the set's order) so that
// figures from different runs and machines are comparable.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import { isQuantized, type WeightFormat } from '../nn/weight_format.js';
import { EVAL_TASKS, loadEvalSet, type EvalItem, type EvalTask } from '../tasks/eval_set.js';
import { readResults, type ResultLine } from '../tasks/results.js';
import { scoreEvalSet } from '../tasks/set_metrics.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The metrics shown per task: [summary key, column label]. */
const SHOWN: Readonly<Record<EvalTask, readonly [string, string][]>> = {
  tvg: [['mean_tiou', 'TVG tIoU']],
  stvg: [['mean_tiou', 'STVG tIoU'], ['mean_siou', 'STVG sIoU']],
  svg: [['mean_siou', 'SVG sIoU']],
  rec: [['mean_iou', 'REC IoU']],
};

/** The first `perTask` items of each task, in the set's order. */
export function fixedSubset(items: readonly EvalItem[], perTask: number): EvalItem[] {
  const seen = new Map<EvalTask, number>();
  return items.filter((it) => {
    const n = seen.get(it.task) ?? 0;
    seen.set(it.task, n + 1);
    return n < perTask;
  });
}

export interface FormatRow {
  format: string;
  /** Items answered in both this format and the baseline, and how many of them agree, per task and 'all'. */
  agree: Record<EvalTask | 'all', { same: number; n: number }>;
  /** The shown metrics, by column label. */
  metrics: Record<string, number>;
}

const sameIds = (a: unknown, b: unknown): boolean =>
  Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Agreement with the baseline format's answer ids and the task metrics of each format's answers.
 * `lines` maps a format to its result lines (eval's results.jsonl); `baseline` must be among them.
 */
export function compareFormats(items: readonly EvalItem[], lines: ReadonlyMap<string, readonly ResultLine[]>, baseline = 'f32'): FormatRow[] {
  const base = lines.get(baseline);
  if (base === undefined) throw new InputError(`bench formats: no results for the baseline ${baseline}`);
  const baseIds = new Map(base.map((l) => [l.id, l.answer_ids]));
  const taskOf = new Map(items.map((it) => [it.id, it.task]));
  return [...lines].map(([format, ls]) => {
    const agree = Object.fromEntries([...EVAL_TASKS, 'all'].map((t) => [t, { same: 0, n: 0 }])) as FormatRow['agree'];
    for (const l of ls) {
      const task = taskOf.get(l.id);
      if (task === undefined || !baseIds.has(l.id)) continue;
      const same = sameIds(l.answer_ids, baseIds.get(l.id)) ? 1 : 0;
      for (const k of [task, 'all'] as const) { agree[k].n++; agree[k].same += same; }
    }
    const answered = new Set(ls.map((l) => l.id));
    const { summary } = scoreEvalSet(items.filter((it) => answered.has(it.id)), ls.map((l) => ({ id: l.id, answer_text: String(l.answer_text ?? '') })));
    const metrics: Record<string, number> = {};
    for (const task of EVAL_TASKS) for (const [key, label] of SHOWN[task]) if (summary[task]) metrics[label] = summary[task]![key]!;
    return { format, agree, metrics };
  });
}

/** The rows as a Markdown table: agreement (n/N), then each metric with its change from the first row. */
export function formatRowsTable(rows: readonly FormatRow[]): string {
  const labels = Object.keys(rows[0]?.metrics ?? {});
  const tasks = EVAL_TASKS.filter((t) => rows.some((r) => r.agree[t].n > 0));
  const head = ['weights', 'same answer as f32', ...tasks.map((t) => `${t.toUpperCase()} same`), ...labels];
  const frac = (a: { same: number; n: number }) => (a.n === 0 ? '–' : `${a.same}/${a.n} (${((100 * a.same) / a.n).toFixed(0)}%)`);
  const base = rows[0]?.metrics ?? {};
  const body = rows.map((r) => [
    r.format, frac(r.agree.all), ...tasks.map((t) => frac(r.agree[t])),
    ...labels.map((l) => {
      const v = r.metrics[l], b = base[l];
      if (v === undefined) return '–';
      if (r === rows[0] || b === undefined) return v.toFixed(3);
      return `${v.toFixed(3)} (${v - b >= 0 ? '+' : '−'}${Math.abs(v - b).toFixed(3)})`;
    }),
  ]);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_h, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

export interface FormatsEvalOptions {
  set: string;
  model?: string;
  /** f32 first: it is the baseline. */
  formats: string[];
  /** Group sizes: each quantized format is evaluated at each. */
  groups: number[];
  perTask: number;
  /** Where each format's results file lives (resumed when it exists: clear it for another model). */
  dir: string;
}

/** Evaluates each format in its own `llava-st eval` process, then prints the comparison. */
export function benchFormatsEval(o: FormatsEvalOptions, log: (s: string) => void = console.log): FormatRow[] {
  if (o.formats[0] !== 'f32') throw new InputError(`bench formats --weights ${o.formats.join(',')}: f32 must come first (it is the baseline)`);
  const set = loadEvalSet(o.set);
  const items = fixedSubset(set.items, o.perTask);
  const ids = items.map((it) => it.id), keep = new Set(ids);
  log(`${items.length} items (the first ${o.perTask} of each task of ${o.set}): ${ids.join(', ')}`);
  mkdirSync(o.dir, { recursive: true });
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const lines = new Map<string, ResultLine[]>();
  const runs = o.formats.flatMap((f) => (isQuantized(f as WeightFormat) ? o.groups.map((g) => ({ f, g, label: `${f}, G ${g}`, file: `${f}-g${g}` })) : [{ f, g: o.groups[0]!, label: f, file: f }]));
  for (const { f, g, label, file } of runs) {
    const out = join(o.dir, `${file}.jsonl`);
    log(`--weights ${label}: ${out}${existsSync(out) ? ' (resumed)' : ''}`);
    const args = [main, 'eval', '--set', o.set, '--ids', ids.join(','), '--weights', f, '--group', String(g), '--out', out, '--resume',
      ...(o.model ? ['--model', o.model] : [])];
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new InputError(`bench formats: eval --weights ${f} --group ${g} failed (exit ${r.status ?? r.signal}); its answers so far are in ${out}`);
    lines.set(label, readResults(out).lines.filter((l) => keep.has(l.id)));
  }
  const rows = compareFormats(items, lines);
  log(`\n${formatRowsTable(rows)}\n\n(G: quantization group size; metric changes are against f32)`);
  return rows;
}
