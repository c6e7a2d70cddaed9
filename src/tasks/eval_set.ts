// Reading evaluation sets.
//
// 1. An eval set directory as shipped with llava-st-synth (models/llava-st-synth/eval/):
//    items.json (one object per item: id, task, media, question, answer, answer_tokens, gt) and,
//    optionally, reference_results.json (the reference's per-item answers and summary).
// 2. An ST-Align benchmark JSON (architecture.md §11, `VidSTGChatDataset`): a list of
//    { video_path, meta: { split, width, height, time_token, spatial_token }, conversations },
//    of which the reference evaluates only the first 2000. We build the GT the metrics read
//    exactly as the dataset class does: boxes xywh -> xyxy, kept only on sampled frames.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { sampledFrameIndices } from './coordinates.js';
import type { StRecord, StTask } from './metrics.js';

export const EVAL_TASKS = ['tvg', 'stvg', 'svg', 'rec'] as const;
export type EvalTask = (typeof EVAL_TASKS)[number];

/** GT of one item; which fields exist depends on the task (see the synth README). */
export interface EvalGt {
  span_frames?: [number, number];
  span?: [number, number];
  query_frames?: [number, number];
  keyframes?: number[];
  /** frame id -> normalised [x1, y1, x2, y2] */
  boxes?: Record<string, [number, number, number, number]>;
  /** REC: normalised [x1, y1, x2, y2] */
  box?: [number, number, number, number];
}
export interface EvalItem {
  id: string;
  task: EvalTask;
  media: string;
  media_size: [number, number];
  question: string;
  answer: string;
  answer_tokens: string;
  gt: EvalGt;
  [extra: string]: unknown;
}
export interface EvalSet {
  dir: string;
  items: EvalItem[];
  byId: Map<string, EvalItem>;
  /** reference_results.json when the directory has one. */
  reference?: { summary: Record<string, unknown>; results: Record<string, unknown>[] };
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new InputError(`${path}: ${what} not found`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`${path}: ${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const REQUIRED_BY_TASK: Record<EvalTask, (keyof EvalGt)[]> = {
  tvg: ['span_frames'],
  stvg: ['span_frames', 'keyframes', 'boxes'],
  svg: ['query_frames', 'keyframes', 'boxes'],
  rec: ['box'],
};

/** Reads `dir/items.json` (required) and `dir/reference_results.json` (optional). */
export function loadEvalSet(dir: string): EvalSet {
  const path = join(dir, 'items.json');
  const raw = readJson(path, 'eval set index items.json');
  if (!Array.isArray(raw)) throw new InputError(`${path}: expected a JSON list of items`);
  const byId = new Map<string, EvalItem>();
  const items = raw.map((it, i): EvalItem => {
    const at = `${path}: item ${i}`;
    if (!isObj(it)) throw new InputError(`${at}: not an object`);
    for (const f of ['id', 'task', 'media', 'question', 'answer', 'answer_tokens'] as const) {
      if (typeof it[f] !== 'string') throw new InputError(`${at}: field '${f}' must be a string`);
    }
    const task = it.task as string;
    if (!(EVAL_TASKS as readonly string[]).includes(task)) throw new InputError(`${at}: unknown task '${task}' (valid: ${EVAL_TASKS.join(', ')})`);
    if (!isObj(it.gt)) throw new InputError(`${at}: field 'gt' must be an object`);
    for (const f of REQUIRED_BY_TASK[task as EvalTask]) {
      if (it.gt[f] === undefined) throw new InputError(`${at} (${String(it.id)}): gt.${f} is missing for task ${task}`);
    }
    if (byId.has(it.id as string)) throw new InputError(`${at}: duplicate id '${String(it.id)}'`);
    byId.set(it.id as string, it as EvalItem);
    return it as EvalItem;
  });
  const set: EvalSet = { dir, items, byId };
  const refPath = join(dir, 'reference_results.json');
  if (existsSync(refPath)) {
    const ref = readJson(refPath, 'reference_results.json');
    if (!isObj(ref) || !isObj(ref.summary) || !Array.isArray(ref.results)) {
      throw new InputError(`${refPath}: expected { summary: {...}, results: [...] }`);
    }
    set.reference = { summary: ref.summary, results: ref.results as Record<string, unknown>[] };
  }
  return set;
}

// ---- ST-Align benchmark JSON ---------------------------------------------------------------------

/** The reference reads only the head of each ST-Align JSON. */
export const ST_ALIGN_LIMIT = 2000;

/** What the metrics need of an ST-Align item, before the model's answer is attached. */
export type StAlignItem = Omit<StRecord, 'outputs' | 'converted_outputs'> & {
  index: number;
  video_path: string;
  /** The human turn as stored, before the dataset's placeholder substitution. */
  prompt_template: string;
  frame_num: number;
};

const xywhToXyxy = (b: readonly number[]): [number, number, number, number] => [b[0]!, b[1]!, b[2]! + b[0]!, b[3]! + b[1]!];

/** Reads an ST-Align benchmark JSON for STVG, SVG or ELC and builds each item's GT. */
export function loadStAlignBenchmark(path: string, task: StTask, limit = ST_ALIGN_LIMIT): StAlignItem[] {
  const raw = readJson(path, 'ST-Align benchmark JSON');
  if (!Array.isArray(raw)) throw new InputError(`${path}: expected a JSON list of items`);
  return raw.slice(0, limit).map((src, index): StAlignItem => {
    const at = `${path}: item ${index}`;
    if (!isObj(src) || !isObj(src.meta)) throw new InputError(`${at}: missing object 'meta'`);
    const meta = src.meta;
    const split = meta.split;
    if (!Array.isArray(split) || split.length !== 2 || !split.every(Number.isInteger)) throw new InputError(`${at}: meta.split must be [s0, s1] frame ids`);
    for (const f of ['width', 'height'] as const) {
      if (typeof meta[f] !== 'number') throw new InputError(`${at}: meta.${f} must be a number`);
    }
    if (!isObj(meta.time_token) || !isObj(meta.spatial_token)) throw new InputError(`${at}: meta.time_token and meta.spatial_token must be objects`);
    const conv = src.conversations;
    if (!Array.isArray(conv) || conv.length < 2 || !isObj(conv[0]) || !isObj(conv[1])) throw new InputError(`${at}: conversations must hold a human and a gpt turn`);
    const bboxes = meta.spatial_token['<bboxes>'];
    if (!isObj(bboxes)) throw new InputError(`${at}: meta.spatial_token['<bboxes>'] must map frame ids to [x, y, w, h]`);
    const sampled = new Set(sampledFrameIndices(split as [number, number]));
    const svg: Record<string, [number, number, number, number]> = {};
    for (const [k, v] of Object.entries(bboxes)) {
      if (!Array.isArray(v) || v.length !== 4) throw new InputError(`${at}: box of frame ${k} must be [x, y, w, h]`);
      if (sampled.has(Number(k))) svg[k] = xywhToXyxy(v as number[]);
    }
    const gt: StRecord['gt'] = { svg };
    if (task !== 'svg') {
      const s = meta.time_token['<s>'];
      const e = meta.time_token['<e>'];
      if (typeof s !== 'number' || typeof e !== 'number') throw new InputError(`${at}: meta.time_token needs '<s>' and '<e>' frame ids for ${task}`);
      gt.tvg = [s, e];
    }
    if (task === 'elc') {
      const answer = String(conv[1].value ?? '');
      gt.caption = answer.replace('Ends in <e>, ', '').replace(' Object bounding box: <bboxes>', '');
    }
    return {
      index, video_path: String(src.video_path ?? ''), prompt_template: String(conv[0].value ?? ''),
      split: split as [number, number], width: meta.width as number, height: meta.height as number, frame_num: 100, gt,
    };
  });
}
