// LLaVA-ST's evaluation metrics (architecture.md §12; inference/src/metrics.py at bacf6d6):
// box IoU, temporal IoU, REC (`eval_rec`), TVG (`eval_tvg`) and the ST-Align tasks STVG, SVG
// and ELC (`eval_stvg`). Every quirk in shared/fixtures/metrics/README.md is kept, because the
// point is to give the paper's numbers: REC skips unparsed items, TVG keeps them in the
// denominator, TVG recalls are strict and ST recalls inclusive, recalls are count / (n / 100).
// Where the reference crashes we throw a MetricError naming the item instead.
//
// Extra outputs the reference does not have (parse-failure counts, REC over all items) are
// reported beside the reference numbers, never mixed into them.

import { LlavaStError } from '../core/errors.js';
import { elcPredCaption, parseBoxFromText, parseSpanFromText, parseStpairFromText, replaceAndNormalize, type Box4 } from './parse.js';
import { sampledFrameIndices } from './coordinates.js';
import { pyRound, pyRoundDigits } from '../io/python.js';

/** An input on which the reference metric code itself raises (division by zero, assertion). */
export class MetricError extends LlavaStError {
  constructor(message: string) { super('E_METRIC', message); }
}

/** Box IoU without the +1 pixel convention; areas are not abs()'d, so inverted boxes give ±0. */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union === 0 ? 0 : inter / union; // a negative union gives -0.0, as in Python
}

/** Temporal IoU of [a0, a1] and [b0, b1], floored at 0; throws where the reference divides by 0. */
export function temporalIou(a: readonly number[], b: readonly number[], where = 'temporalIou'): number {
  const inter = Math.max(Math.min(a[1]!, b[1]!) - Math.max(a[0]!, b[0]!), 0);
  const hull = Math.max(a[1]!, b[1]!) - Math.min(a[0]!, b[0]!);
  if (hull === 0) {
    throw new MetricError(`${where}: spans [${a.join(', ')}] and [${b.join(', ')}] collapse to one point; the reference divides by zero`);
  }
  const v = inter / hull;
  return v > 0 ? v : 0;
}

const recall = (hits: number, n: number): number => hits / (n / 100); // the reference's order

function needText(v: unknown, index: number, field: string, fn: string): string {
  if (typeof v !== 'string') {
    throw new MetricError(`${fn}: item ${index}: ${field} is ${v === null ? 'null' : typeof v}, not a string (the reference raises here)`);
  }
  return v;
}

// ---- REC ----------------------------------------------------------------------------------------

export interface RecRecord { converted_outputs: string | null; gt_bbox: readonly number[] }
export interface RecItem { predBox: Box4 | null; skipped: boolean; iou: number | null; hit: boolean }
export interface RecResult {
  /** The reference's return values, under the evaluation driver's names. */
  returned: { miou: number; 'R1@(0.5)': number };
  /** The same two numbers with unparsed items counted as IoU 0 (not in the reference). */
  overAll: { miou: number; 'R1@(0.5)': number };
  counts: { items: number; parsed: number; skipped: number; 'hits_0.5': number };
  perItem: RecItem[];
}

/** `eval_rec`: first box of converted_outputs vs gt_bbox; unparsed items leave the denominator. */
export function evalRec(records: readonly RecRecord[]): RecResult {
  let sum = 0;
  let parsed = 0;
  let hits = 0;
  const perItem = records.map((r, i): RecItem => {
    const box = parseBoxFromText(needText(r.converted_outputs, i, 'converted_outputs', 'evalRec')).value;
    if (box === null) return { predBox: null, skipped: true, iou: null, hit: false };
    const iou = boxIou(r.gt_bbox, box);
    parsed++;
    sum += iou;
    if (iou >= 0.5) hits++;
    return { predBox: box, skipped: false, iou, hit: iou >= 0.5 };
  });
  const denom = parsed === 0 ? 1 : parsed;
  const n = records.length;
  return {
    returned: { miou: sum / denom, 'R1@(0.5)': (hits / denom) * 100 },
    overAll: { miou: n === 0 ? 0 : sum / n, 'R1@(0.5)': n === 0 ? 0 : (hits / n) * 100 },
    counts: { items: n, parsed, skipped: n - parsed, 'hits_0.5': hits },
    perItem,
  };
}

// ---- TVG ----------------------------------------------------------------------------------------

export interface TvgRecord { converted_outputs: string | null; gt: readonly number[] }
export interface TvgItem { predSpan: [number, number]; regexFallback: boolean; skipped: boolean; tiou: number | null }
export interface TvgResult {
  returned: { miou: number; 'R1@(0.3)': number; 'R1@(0.5)': number; 'R1@(0.7)': number };
  counts: { items: number; skipped: number; parseFailures: number; 'hits_gt_0.3': number; 'hits_gt_0.5': number; 'hits_gt_0.7': number };
  perItem: TvgItem[];
}

/** `eval_tvg`: first span vs normalised gt; a [0, 0] prediction is skipped but stays in n. */
export function evalTvg(records: readonly TvgRecord[]): TvgResult {
  if (records.length === 0) throw new MetricError('evalTvg: no items (the reference divides by zero)');
  let sum = 0;
  const hits = [0, 0, 0];
  const perItem = records.map((r, i): TvgItem => {
    const p = parseSpanFromText(needText(r.converted_outputs, i, 'converted_outputs', 'evalTvg'));
    const skipped = p.value[0] === 0 && p.value[1] === 0; // includes a genuine {0, 0}
    if (skipped) return { predSpan: p.value, regexFallback: p.failed, skipped, tiou: null };
    const tiou = temporalIou(p.value, r.gt, `evalTvg: item ${i}`);
    sum += tiou;
    [0.3, 0.5, 0.7].forEach((t, j) => { if (tiou > t) hits[j]!++; });
    return { predSpan: p.value, regexFallback: false, skipped, tiou };
  });
  const n = records.length;
  return {
    returned: { miou: sum / n, 'R1@(0.3)': recall(hits[0]!, n), 'R1@(0.5)': recall(hits[1]!, n), 'R1@(0.7)': recall(hits[2]!, n) },
    counts: {
      items: n, skipped: perItem.filter((x) => x.skipped).length, parseFailures: perItem.filter((x) => x.regexFallback).length,
      'hits_gt_0.3': hits[0]!, 'hits_gt_0.5': hits[1]!, 'hits_gt_0.7': hits[2]!,
    },
    perItem,
  };
}

// ---- STVG / SVG / ELC ------------------------------------------------------------------------------

export type StTask = 'stvg' | 'svg' | 'elc';
export interface StRecord {
  outputs: string;
  converted_outputs: string | null;
  split: readonly [number, number];
  width: number;
  height: number;
  gt: { tvg?: readonly number[]; svg: Readonly<Record<string, readonly number[]>>; caption?: string };
}
export interface StItem {
  frameIdx: number[];
  tvgPred: [number, number];
  tvgPredRegexFallback: boolean;
  tvgGtNormalized: [number, number] | null;
  stpairs: Map<number, Box4>;
  svgPredMapped: Map<string, Box4>;
  framesInter: string[];
  framesUnion: string[];
  perFrameIou: [string, number][];
  iouSum: number;
  tiou: number;
  siou: number;
  viou: number;
  gtCaption?: string;
  predCaption?: string;
}
type StKey = 'mtiou' | 'tiou@0.3' | 'tiou@0.5' | 'tiou@0.7' | 'msiou' | 'siou@0.3' | 'siou@0.5' | 'siou@0.7'
  | 'mstiou' | 'viou@0.3' | 'viou@0.5' | 'viou@0.7';
export interface StResult {
  returned: Record<StKey, number>;
  counts: { items: number; spanParseFailures: number; itemsWithoutPairs: number };
  perItem: StItem[];
  /** ELC only: what the reference hands to the PTB tokenizer (item position -> captions). */
  captionInputs?: { gts: Record<string, { caption: string }[]>; res: Record<string, { caption: string }[]> };
}

const byFrame = (a: string, b: string): number => Number(a) - Number(b);

/** One item of `eval_stvg`. Set iteration order is replaced by ascending frame order (README "Summation order"). */
export function evalStItem(r: StRecord, task: StTask, index = 0): StItem {
  const where = `evalSt(${task}): item ${index}`;
  const [s0, s1] = r.split;
  const d = s1 - s0 + 1;
  const frameIdx = sampledFrameIndices([s0, s1]);
  const sampled = new Set(frameIdx);
  const span = parseSpanFromText(needText(r.converted_outputs, index, 'converted_outputs', where));
  const stpairs = parseStpairFromText(replaceAndNormalize(r.outputs, true));

  let tvgGtNormalized: [number, number] | null = null;
  if (task !== 'svg') {
    if (d === 1) throw new MetricError(`${where}: split [${s0}, ${s1}] has one frame; the reference divides by zero`);
    const g = r.gt.tvg;
    if (g === undefined) throw new MetricError(`${where}: gt.tvg is missing`);
    tvgGtNormalized = [pyRoundDigits((g[0]! - s0) / (d - 1), 3), pyRoundDigits((g[1]! - s0) / (d - 1), 3)];
  }
  for (const k of Object.keys(r.gt.svg)) {
    if (!sampled.has(Number(k))) throw new MetricError(`${where}: GT frame ${k} is not among the sampled frames (the reference's assertion fails)`);
  }
  const svgPredMapped = new Map<string, Box4>();
  for (const [k, v] of stpairs) {
    const frame = s0 + pyRound((k / 99) * (d - 1));
    if (!sampled.has(frame)) throw new MetricError(`${where}: predicted key ${k} maps to frame ${frame}, not a sampled frame (the reference's assertion fails)`);
    const key = String(pyRound(s0 + (k / 99) * (d - 1)));
    const n = v.map((x) => x / 99);
    svgPredMapped.set(key, [pyRound(n[0]! * r.width), pyRound(n[1]! * r.height), pyRound(n[2]! * r.width), pyRound(n[3]! * r.height)]);
  }
  const tiou = tvgGtNormalized === null ? 0 : temporalIou(tvgGtNormalized, span.value, where);

  const gtKeys = Object.keys(r.gt.svg);
  const framesInter = gtKeys.filter((k) => svgPredMapped.has(k)).sort(byFrame);
  const framesUnion = [...new Set([...gtKeys, ...svgPredMapped.keys()])].sort(byFrame);
  const perFrameIou = framesInter.map((k): [string, number] => [k, boxIou(r.gt.svg[k]!, svgPredMapped.get(k)!)]);
  const iouSum = perFrameIou.reduce((s, [, v]) => s + v, 0);
  const item: StItem = {
    frameIdx, tvgPred: span.value, tvgPredRegexFallback: span.failed, tvgGtNormalized, stpairs, svgPredMapped,
    framesInter, framesUnion, perFrameIou, iouSum, tiou,
    siou: iouSum / Math.max(framesInter.length, 1),
    viou: iouSum / Math.max(framesUnion.length, 1),
  };
  if (task === 'elc') {
    item.gtCaption = r.gt.caption ?? '';
    item.predCaption = elcPredCaption(r.outputs);
  }
  return item;
}

/** `eval_stvg(results, task)`: means over n and inclusive recalls for tIoU, sIoU and vIoU. */
export function evalSt(records: readonly StRecord[], task: StTask): StResult {
  if (records.length === 0) throw new MetricError(`evalSt(${task}): no items (the reference divides by zero)`);
  const perItem = records.map((r, i) => evalStItem(r, task, i));
  const n = records.length;
  const mean = (f: (x: StItem) => number): number => perItem.reduce((s, x) => s + f(x), 0) / n;
  const at = (f: (x: StItem) => number, t: number): number => recall(perItem.filter((x) => f(x) >= t).length, n);
  const returned = {} as Record<StKey, number>;
  for (const [name, f] of [['tiou', (x: StItem) => x.tiou], ['siou', (x: StItem) => x.siou], ['viou', (x: StItem) => x.viou]] as const) {
    returned[name === 'viou' ? 'mstiou' : (`m${name}` as const)] = mean(f);
    for (const t of [0.3, 0.5, 0.7] as const) returned[`${name}@${t}`] = at(f, t);
  }
  const result: StResult = {
    returned,
    counts: { items: n, spanParseFailures: perItem.filter((x) => x.tvgPredRegexFallback).length, itemsWithoutPairs: perItem.filter((x) => x.stpairs.size === 0).length },
    perItem,
  };
  if (task === 'elc') {
    const gts: Record<string, { caption: string }[]> = {};
    const res: Record<string, { caption: string }[]> = {};
    perItem.forEach((x, i) => { gts[i] = [{ caption: x.gtCaption! }]; res[i] = [{ caption: x.predCaption! }]; });
    result.captionInputs = { gts, res };
  }
  return result;
}
