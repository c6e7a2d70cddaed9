// Questions for LLaVA-ST's eight tasks, in the reference's wording (architecture.md §11;
// LLaVA-ST at bacf6d6: inference/src/prompts.py, inference/src/datasets.py, demo/README.md).
// Coordinates are written in the demo syntax (<t0.409>, <w0.523>, <h0.621>), which
// prompt.ts turns into placeholders. The media tag is not part of the question: pass the
// task's modality (TASK_MODALITY) to buildPrompt.
//
// Where the reference picks a template with an unseeded random.choice, the default here is the
// first template; `{ template: i }` picks one, `{ seed }` a reproducible random one.

import { InputError } from '../core/errors.js';
import type { Modality } from './prompt.js';
import { pyRoundDigits } from '../io/python.js';

export type Task = 'stvg' | 'svg' | 'elc' | 'tvg' | 'rec' | 'reg' | 'tr' | 'dgc';
export const TASK_MODALITY: Readonly<Record<Task, Modality>> = {
  stvg: 'video', svg: 'video', elc: 'video', tvg: 'video', tr: 'video', rec: 'image', reg: 'image', dgc: 'image',
};

/** Normalised [start, end] time in [0, 1] (fraction of the sampled clip). */
export type TimeSpan = readonly [number, number];
/** Normalised [x1, y1, x2, y2] in [0, 1] of the (stretched) image. */
export type NormBox = readonly [number, number, number, number];
/** Which template: an index, or a seeded pseudo-random pick; neither means the first. */
export interface TemplateChoice { template?: number; seed?: number }

// ---- templates (verbatim) -----------------------------------------------------------------

/** inference/src/prompts.py ref_prompts; {ref} is the referring expression. */
export const REC_TEMPLATES = [
  'Where can I find {ref} in this image?',
  'What part of this image contains {ref}?',
  'Where does {ref} appear in this image?',
  'Where is {ref} situated within this image?',
] as const;
/** inference/src/prompts.py tvg_prompts. */
export const TVG_TEMPLATES = [
  "Give you a textual query: '{caption}'. When does the described content occur in the video? Please return the start and end timestamps.",
] as const;
/** demo/README.md (the second keeps the demo's double space). */
export const TR_TEMPLATES = [
  'Describe what took place during the period {span} in the video.',
  'What was going on within the time frame of {span}  in the video?',
] as const;
/** demo/README.md. */
export const REG_TEMPLATES = [
  'What object can be observed within the region {box} in the image?',
  'What is the primary object within the region {box}?',
] as const;
/** demo/README.md. */
export const DGC_TEMPLATES = [
  'Can you provide a thorough description of this image? Please output with interleaved bounding boxes for the corresponding phrases.',
  'Could you give me an elaborate explanation of this picture? Please respond with interleaved bounding boxes for the corresponding phrases.',
  'Please describe in detail the contents of the image. Please respond with interleaved bounding boxes for the corresponding parts of the answer.',
] as const;
/** demo/README.md STVG query; {event} is the sentence describing the subject. */
export const STVG_TEMPLATES = [
  'At which time interval in the video can we see {event} occurring? Please describe the location of the corresponding subject/object in this video.',
] as const;
/** datasets.py VidSTGChatDataset.tvg_tep: what "From <s> to <e>" becomes, before " {s,e}". */
export const SPAN_LEADS = [
  'During the span of', 'In the time range', 'During the period', 'Within the time frame of',
  'In the time period', 'During', 'Between', 'At',
] as const;
/** demo/README.md ELC query. */
export const ELC_TEMPLATES = [
  'Starts in {start}, what happened about the subject/object within the specified region {box}? Where is the corresponding subject/object located?',
] as const;

/** datasets.py task suffixes, appended with no separating space. */
export const TASK_SUFFIX = {
  stvg: 'Please firstly give the timestamps, and then give the spatial bounding box corresponding to each timestamp in the time period.',
  svg: 'Please give the spatial bounding box corresponding to each timestamp in the time period.',
  elc: 'Please firstly give the end timestamp, then give the event associated with the object/subject, finally give the spatial bounding box corresponding to each timestamp in the time period.',
} as const;

// ---- choosing and filling -----------------------------------------------------------------

/** mulberry32: a small seeded PRNG, enough for picking templates reproducibly. */
function seededUnit(seed: number): number {
  let t = (Math.trunc(seed) + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The template `choice` picks from `templates` (named `what` in errors). */
export function pickTemplate<T extends string>(templates: readonly T[], choice: TemplateChoice = {}, what = 'template'): T {
  if (choice.template !== undefined) {
    const t = templates[choice.template];
    if (!Number.isInteger(choice.template) || t === undefined) {
      throw new InputError(`${what}: template ${choice.template} is not an index in 0..${templates.length - 1}`);
    }
    return t;
  }
  if (choice.seed !== undefined) {
    if (!Number.isFinite(choice.seed)) throw new InputError(`${what}: seed ${choice.seed} is not a finite number`);
    return templates[Math.floor(seededUnit(choice.seed) * templates.length)]!;
  }
  return templates[0]!;
}

const fill = (template: string, slots: Record<string, string>): string =>
  template.replace(/\{(\w+)\}/g, (m, k: string) => slots[k] ?? m);

/** A value in [0, 1] as the demo syntax writes it: rounded to 3 decimals, shortest form. */
function coord(v: number, what: string): string {
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new InputError(`${what}: ${v} is not a normalised coordinate in [0, 1]`);
  return String(pyRoundDigits(v, 3));
}
function checkSpan(span: TimeSpan, what: string): [string, string] {
  const [s, e] = [coord(span[0], `${what}[0]`), coord(span[1], `${what}[1]`)];
  if (span[0] > span[1]) throw new InputError(`${what}: start ${span[0]} is after end ${span[1]}`);
  return [s, e];
}
/** {<t s>,<t e>} */
const spanText = (span: TimeSpan, what: string): string => {
  const [s, e] = checkSpan(span, what);
  return `{<t${s}>,<t${e}>}`;
};
/** [<w x1>,<h y1>,<w x2>,<h y2>] with `sep` between the four. */
function boxText(box: NormBox, what: string, sep: string): string {
  const axes = ['w', 'h', 'w', 'h'];
  return `[${box.map((v, i) => `<${axes[i]}${coord(v, `${what}[${i}]`)}>`).join(sep)}]`;
}
function nonEmpty(text: string, what: string): string {
  if (text.trim().length === 0) throw new InputError(`${what}: empty text`);
  return text;
}

// ---- the eight tasks ----------------------------------------------------------------------

/** REC: where is `ref` (e.g. "the red square")? Answer `[<WIDTH-a><HEIGHT-b><WIDTH-c><HEIGHT-d>]`. */
export function recQuestion(ref: string, choice?: TemplateChoice): string {
  return fill(pickTemplate(REC_TEMPLATES, choice, 'recQuestion'), { ref: nonEmpty(ref, 'recQuestion(ref)') });
}

/** REG: what is in `box`? Answer: a short phrase. */
export function regQuestion(box: NormBox, choice?: TemplateChoice): string {
  return fill(pickTemplate(REG_TEMPLATES, choice, 'regQuestion'), { box: boxText(box, 'regQuestion(box)', ',') });
}

/**
 * TVG: when does `caption` happen? The caption is cleaned as CharadesSTGDataset does:
 * '.' stripped from both ends, then ' ', then lower-cased. Answer `{<TEMP-s><TEMP-e>}`.
 */
export function tvgQuestion(caption: string, choice?: TemplateChoice): string {
  const cleaned = caption.replace(/^\.+|\.+$/g, '').replace(/^ +| +$/g, '').toLowerCase();
  return fill(pickTemplate(TVG_TEMPLATES, choice, 'tvgQuestion'), { caption: nonEmpty(cleaned, 'tvgQuestion(caption)') });
}

/** TR: what happens during `span`? Answer: a caption. */
export function trQuestion(span: TimeSpan, choice?: TemplateChoice): string {
  return fill(pickTemplate(TR_TEMPLATES, choice, 'trQuestion'), { span: spanText(span, 'trQuestion(span)') });
}

/** STVG: when and where is `event`? Answer: span, then `<TEMP-k>:[box]` pairs. */
export function stvgQuestion(event: string, choice?: TemplateChoice): string {
  return fill(pickTemplate(STVG_TEMPLATES, choice, 'stvgQuestion'), { event: nonEmpty(event, 'stvgQuestion(event)') })
    + TASK_SUFFIX.stvg;
}

/**
 * SVG: within `span`, where is the subject of `query` (the rest of the sentence, e.g.
 * "who does the adult in white clothes watch? Please describe the location of the corresponding
 * subject/object in this video.")? The choice picks the lead ("During the span of", "Between", ...).
 * Answer: `<TEMP-k>:[box]` pairs.
 */
export function svgQuestion(span: TimeSpan, query: string, choice?: TemplateChoice): string {
  const lead = pickTemplate(SPAN_LEADS, choice, 'svgQuestion');
  return `${lead} ${spanText(span, 'svgQuestion(span)')}, ${nonEmpty(query, 'svgQuestion(query)')}${TASK_SUFFIX.svg}`;
}

/** ELC: from `start`, what does the subject in `box` do and where? Answer: "Ends in <TEMP-e>, caption. Object bounding box: ...". */
export function elcQuestion(start: number, box: NormBox, choice?: TemplateChoice): string {
  return fill(pickTemplate(ELC_TEMPLATES, choice, 'elcQuestion'), {
    start: `<t${coord(start, 'elcQuestion(start)')}>`,
    box: boxText(box, 'elcQuestion(box)', ', '),
  }) + TASK_SUFFIX.elc;
}

/** DGC: a dense caption with a box after each grounded phrase. */
export function dgcQuestion(choice?: TemplateChoice): string {
  return pickTemplate(DGC_TEMPLATES, choice, 'dgcQuestion');
}

/** One request per task, for callers that dispatch on a task name (CLI). */
export type TaskRequest =
  | { task: 'rec'; ref: string }
  | { task: 'reg'; box: NormBox }
  | { task: 'tvg'; caption: string }
  | { task: 'tr'; span: TimeSpan }
  | { task: 'stvg'; event: string }
  | { task: 'svg'; span: TimeSpan; query: string }
  | { task: 'elc'; start: number; box: NormBox }
  | { task: 'dgc' };

export function taskQuestion(req: TaskRequest, choice?: TemplateChoice): string {
  switch (req.task) {
    case 'rec': return recQuestion(req.ref, choice);
    case 'reg': return regQuestion(req.box, choice);
    case 'tvg': return tvgQuestion(req.caption, choice);
    case 'tr': return trQuestion(req.span, choice);
    case 'stvg': return stvgQuestion(req.event, choice);
    case 'svg': return svgQuestion(req.span, req.query, choice);
    case 'elc': return elcQuestion(req.start, req.box, choice);
    case 'dgc': return dgcQuestion(choice);
  }
}
