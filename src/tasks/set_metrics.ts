// Scores of an eval set in the llava-st-synth format (models/llava-st-synth/README.md,
// "Reference accuracy on eval set A"). These are the set's own definitions, built on the
// reference parsers and IoU helpers:
//   tIoU          temporal IoU of the first {s,e} against [s/99, e/99] of gt.span_frames
//   sIoU          box IoU (prediction k/99 vs normalised GT) summed over predicted frame keys
//                 that have a GT box, divided by their count (0 when none)
//   box Acc@0.5   pairs with a GT box and IoU >= 0.5, divided by max(3, number of pairs)
//   keyframes     the predicted frame keys, ascending, equal gt.keyframes
//   REC           IoU of the first box; Acc@0.5 is IoU >= 0.5
//   score         mean over tasks of: TVG mean tIoU, STVG (mean tIoU + mean sIoU)/2,
//                 SVG mean sIoU, REC mean IoU
// Means are Python fsum-exact, as the reference's were. Recalls R@t count tIoU >= t.
// An item with no prediction counts as unparsed with every score 0, and is listed in `missing`.

import { boxIou, temporalIou } from './metrics.js';
import { parseBoxFromText, parseSpanFromText, parseStpairFromText, replaceAndNormalize, type Box4 } from './parse.js';
import { fsum } from '../io/python.js';
import type { EvalItem, EvalTask } from './eval_set.js';

export interface Prediction { id: string; answer_text: string }

export interface SetItemScore {
  id: string;
  task: EvalTask;
  exact: boolean;
  parsed: boolean;
  missing: boolean;
  pred_span?: [number, number];
  tiou?: number;
  pred_pairs?: Record<string, Box4>;
  siou?: number;
  box_acc50?: number;
  keyframes_exact?: boolean;
  pred_box?: Box4 | null;
  iou?: number;
  acc50?: boolean;
}

export type TaskSummary = Record<string, number>;
export interface SetScore {
  summary: Partial<Record<EvalTask, TaskSummary>> & { score: number; exact_match_all: number };
  perItem: SetItemScore[];
  /** Ids of set items that had no prediction. */
  missing: string[];
  /** Prediction ids that are not in the set (ignored). */
  unknown: string[];
}

function scoreItem(item: EvalItem, answer: string | undefined): SetItemScore {
  const base: SetItemScore = { id: item.id, task: item.task, exact: answer === item.answer_tokens, parsed: false, missing: answer === undefined };
  const text = answer ?? '';
  const normalized = replaceAndNormalize(text);
  const gt = item.gt;
  const out: SetItemScore = { ...base };
  if (item.task === 'tvg' || item.task === 'stvg') {
    const span = parseSpanFromText(normalized);
    const [s, e] = gt.span_frames!;
    out.pred_span = span.value;
    out.tiou = span.failed ? 0 : temporalIou(span.value, [s / 99, e / 99], `item ${item.id}`);
    out.parsed = !span.failed;
  }
  if (item.task === 'stvg' || item.task === 'svg') {
    const pairs = parseStpairFromText(replaceAndNormalize(text, true));
    const predPairs: Record<string, Box4> = {};
    for (const [k, box] of pairs) predPairs[String(k)] = box;
    const ious = Object.entries(predPairs)
      .filter(([k]) => gt.boxes![k] !== undefined)
      .map(([k, box]) => boxIou(box.map((v) => v / 99), gt.boxes![k]!));
    out.pred_pairs = predPairs;
    out.siou = ious.length === 0 ? 0 : fsum(ious) / ious.length;
    out.box_acc50 = ious.filter((v) => v >= 0.5).length / Math.max(3, pairs.size);
    const keys = [...pairs.keys()].sort((a, b) => a - b);
    out.keyframes_exact = keys.length === gt.keyframes!.length && keys.every((k, i) => k === gt.keyframes![i]);
    out.parsed = (item.task === 'svg' || out.parsed) && pairs.size > 0;
  }
  if (item.task === 'rec') {
    const box = parseBoxFromText(normalized).value;
    out.pred_box = box;
    out.iou = box === null ? 0 : boxIou(box, gt.box!);
    out.acc50 = out.iou >= 0.5;
    out.parsed = box !== null;
  }
  return out;
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : fsum(xs) / xs.length);
const frac = (xs: boolean[]): number => mean(xs.map((b) => (b ? 1 : 0)));

function summarize(task: EvalTask, xs: SetItemScore[]): TaskSummary {
  const s: TaskSummary = { n: xs.length, exact_match: frac(xs.map((x) => x.exact)), parsed: frac(xs.map((x) => x.parsed)) };
  if (task === 'tvg' || task === 'stvg') {
    const t = xs.map((x) => x.tiou!);
    Object.assign(s, { mean_tiou: mean(t), 'tiou_R@0.5': frac(t.map((v) => v >= 0.5)), 'tiou_R@0.7': frac(t.map((v) => v >= 0.7)) });
  }
  if (task === 'stvg' || task === 'svg') {
    Object.assign(s, {
      mean_siou: mean(xs.map((x) => x.siou!)),
      'box_acc@0.5': mean(xs.map((x) => x.box_acc50!)),
      keyframes_exact: frac(xs.map((x) => x.keyframes_exact!)),
    });
  }
  if (task === 'rec') Object.assign(s, { mean_iou: mean(xs.map((x) => x.iou!)), 'acc@0.5': frac(xs.map((x) => x.acc50!)) });
  return s;
}

const TASK_SCORE: Record<EvalTask, (s: TaskSummary) => number> = {
  tvg: (s) => s.mean_tiou!,
  stvg: (s) => (s.mean_tiou! + s.mean_siou!) / 2,
  svg: (s) => s.mean_siou!,
  rec: (s) => s.mean_iou!,
};

/** Scores predictions against the set's items, optionally restricted to some tasks. */
export function scoreEvalSet(items: readonly EvalItem[], predictions: readonly Prediction[], tasks?: readonly EvalTask[]): SetScore {
  const answers = new Map(predictions.map((p) => [p.id, p.answer_text]));
  const chosen = items.filter((it) => tasks === undefined || tasks.includes(it.task));
  const ids = new Set(items.map((it) => it.id));
  const perItem = chosen.map((it) => scoreItem(it, answers.get(it.id)));
  const summary = { score: 0, exact_match_all: frac(perItem.map((x) => x.exact)) } as SetScore['summary'];
  const taskScores: number[] = [];
  for (const task of ['tvg', 'stvg', 'svg', 'rec'] as const) {
    const xs = perItem.filter((x) => x.task === task);
    if (xs.length === 0) continue;
    summary[task] = summarize(task, xs);
    taskScores.push(TASK_SCORE[task](summary[task]!));
  }
  summary.score = mean(taskScores);
  return {
    summary,
    perItem,
    missing: perItem.filter((x) => x.missing).map((x) => x.id),
    unknown: predictions.filter((p) => !ids.has(p.id)).map((p) => p.id),
  };
}
