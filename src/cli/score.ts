// `llava-st score --task T --pred results.jsonl [--set SET_DIR] [--json OUT]`
//
// Recomputes the metrics from saved predictions, prints a Markdown table that can be pasted
// into a paper, and writes the full-precision numbers as JSON (to OUT, or after the table).
//   with --set:    the eval set's own metrics (set_metrics.ts), lines joined to items by id;
//                  T is one of tvg, stvg, svg, rec, all
//   without --set: LLaVA-ST's benchmark metrics (metrics.ts) on lines that carry their own GT
//                  in the upstream record shape; T is one of rec, tvg, stvg, svg, elc

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InputError, LlavaStError } from '../core/errors.js';
import { scoreCaptions } from '../tasks/caption_metrics.js';
import { loadEvalSet, EVAL_TASKS, type EvalTask } from '../tasks/eval_set.js';
import { evalRec, evalSt, evalTvg, type RecRecord, type StRecord, type TvgRecord } from '../tasks/metrics.js';
import { replaceAndNormalize } from '../tasks/parse.js';
import { readResults, type ResultLine } from '../tasks/results.js';
import { scoreEvalSet } from '../tasks/set_metrics.js';

const SET_TASKS = [...EVAL_TASKS, 'all'] as const;
const BENCH_TASKS = ['rec', 'tvg', 'stvg', 'svg', 'elc'] as const;
const ALL_TASKS = [...new Set<string>([...SET_TASKS, ...BENCH_TASKS])];

const USAGE = `usage: llava-st score --task T --pred results.jsonl [--set SET_DIR] [--json OUT]
  --task   with --set: ${SET_TASKS.join(', ')}; without: ${BENCH_TASKS.join(', ')}
  --pred   results.jsonl, one JSON object per line with 'id' (and 'answer_text' or 'outputs')
  --set    eval set directory holding items.json (joins predictions to GT by id)
  --json   write the numbers as JSON to this file instead of printing them after the table`;

type Row = [string, string | number, string, string];

const f3 = (v: number): string => v.toFixed(3);
const f1 = (v: number): string => v.toFixed(1);

function markdown(rows: Row[], header: Row = ['task', 'n', 'metric', 'value']): string {
  const line = (r: readonly (string | number)[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map((_h, i) => (i === 0 || i === 2 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Labels for the set metrics; fractions are shown as percentages. */
const SET_LABELS: Record<string, [string, boolean]> = {
  parsed: ['answers parsed (%)', true], exact_match: ['exact match (%)', true],
  mean_tiou: ['mean tIoU', false], 'tiou_R@0.5': ['tIoU R@0.5 (%)', true], 'tiou_R@0.7': ['tIoU R@0.7 (%)', true],
  mean_siou: ['mean sIoU', false], 'box_acc@0.5': ['box Acc@0.5 (%)', true], keyframes_exact: ['keyframes exact (%)', true],
  mean_iou: ['mean IoU', false], 'acc@0.5': ['Acc@0.5 (%)', true],
};

/** Set metrics as a table; `only` restricts the scored items to these ids (eval --limit/--ids). */
export function scoreSet(task: string, setDir: string, lines: ResultLine[], only?: ReadonlySet<string>): { table: string; json: unknown; notes: string[] } {
  const set = loadEvalSet(setDir);
  if (only !== undefined) set.items = set.items.filter((it) => only.has(it.id));
  const preds = lines.map((l) => ({ id: l.id, answer_text: String(l.answer_text ?? l.outputs ?? '') }));
  const tasks = task === 'all' ? undefined : [task as EvalTask];
  const s = scoreEvalSet(set.items, preds, tasks);
  const rows: Row[] = [];
  for (const t of EVAL_TASKS) {
    const sum = s.summary[t];
    if (sum === undefined) continue;
    for (const [k, v] of Object.entries(sum)) {
      if (k === 'n') continue;
      const [label, pct] = SET_LABELS[k] ?? [k, false];
      rows.push([t.toUpperCase(), sum.n!, label, pct ? f1(v * 100) : f3(v)]);
    }
  }
  if (task === 'all') rows.push(['all', s.perItem.length, 'score (mean of task scores)', f3(s.summary.score)]);
  const notes: string[] = [];
  if (s.missing.length > 0) notes.push(`${s.missing.length} item(s) have no prediction and count as unparsed: ${s.missing.slice(0, 10).join(', ')}${s.missing.length > 10 ? ', …' : ''}`);
  if (s.unknown.length > 0) notes.push(`${s.unknown.length} prediction id(s) are not in the set and were ignored: ${s.unknown.slice(0, 10).join(', ')}`);
  return { table: markdown(rows), json: { set: setDir, task, summary: s.summary, missing: s.missing, unknown: s.unknown, per_item: s.perItem }, notes };
}

/** A result line in the upstream record shape; converted_outputs is derived when absent. */
function asRecord(l: ResultLine): Record<string, unknown> {
  if (l.gt === undefined && l.gt_bbox === undefined) throw new InputError(`result '${l.id}': no 'gt' or 'gt_bbox' field (without --set, each line must carry its own GT)`);
  const outputs = l.outputs ?? l.answer_text;
  if (typeof outputs !== 'string') throw new InputError(`result '${l.id}': no 'outputs' or 'answer_text' string`);
  return { ...l, outputs, converted_outputs: 'converted_outputs' in l ? l.converted_outputs : replaceAndNormalize(outputs) };
}

export function scoreBench(task: string, lines: ResultLine[]): { table: string; json: unknown; notes: string[] } {
  const records = lines.map(asRecord);
  const n = records.length;
  const notes: string[] = [];
  let returned: Record<string, number>;
  let extra: Record<string, unknown> = {};
  if (task === 'rec') {
    const r = evalRec(records as unknown as RecRecord[]);
    returned = { ...r.returned, 'miou (all items)': r.overAll.miou, 'R1@(0.5) (all items)': r.overAll['R1@(0.5)'] };
    extra = { counts: r.counts };
    if (r.counts.skipped > 0) notes.push(`${r.counts.skipped} of ${n} answers had no parsable box: the reference skips them (first two rows); the "all items" rows count them as IoU 0`);
  } else if (task === 'tvg') {
    const r = evalTvg(records as unknown as TvgRecord[]);
    returned = r.returned;
    extra = { counts: r.counts };
    if (r.counts.parseFailures > 0) notes.push(`${r.counts.parseFailures} of ${n} answers had no parsable span (counted as 0, as the reference does)`);
  } else {
    const r = evalSt(records as unknown as StRecord[], task as 'stvg' | 'svg' | 'elc');
    returned = r.returned;
    extra = { counts: r.counts };
    if (r.captionInputs !== undefined) {
      const caption = scoreCaptions(r.captionInputs.gts, r.captionInputs.res);
      for (const [k, v] of Object.entries(caption)) returned[k] = v;
      extra.caption_note = 'BLEU/ROUGE-L/CIDEr-D reimplemented (caption_metrics.ts); METEOR is not computed';
    }
    if (r.counts.itemsWithoutPairs > 0) notes.push(`${r.counts.itemsWithoutPairs} of ${n} answers had no frame:box pair`);
  }
  const rows: Row[] = Object.entries(returned).map(([k, v]) => [task.toUpperCase(), n, k, /[@R]/.test(k) && !k.startsWith('m') ? f1(v) : f3(v)]);
  return { table: markdown(rows), json: { task, returned, ...extra }, notes };
}

export async function scoreMain(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { task: { type: 'string' }, pred: { type: 'string' }, set: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help === true) { console.log(USAGE); return 0; }
    const task = values.task;
    if (task === undefined || values.pred === undefined) throw new InputError(`score: --task and --pred are required\n${USAGE}`);
    const valid: readonly string[] = values.set !== undefined ? SET_TASKS : BENCH_TASKS;
    if (!valid.includes(task)) {
      const hint = ALL_TASKS.includes(task) ? ` ${values.set !== undefined ? 'with' : 'without'} --set` : '';
      throw new InputError(`score: unknown task '${task}'${hint}; valid tasks: ${valid.join(', ')}`);
    }
    const read = readResults(values.pred);
    const notes = read.duplicates.map((d) => `id '${d.id}' occurs on lines ${d.lines.join(', ')} of ${values.pred}; the last one is scored, once`);
    const out = values.set !== undefined ? scoreSet(task, values.set, read.lines) : scoreBench(task, read.lines);
    console.log(out.table);
    for (const n of [...notes, ...out.notes]) console.log(`\nNote: ${n}`);
    const json = JSON.stringify(out.json, null, 2);
    if (values.json !== undefined) writeFileSync(values.json, `${json}\n`);
    else console.log(`\n\`\`\`json\n${json}\n\`\`\``);
    return 0;
  } catch (e) {
    if (e instanceof LlavaStError) { console.error(`error: ${e.message}`); return 2; }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
