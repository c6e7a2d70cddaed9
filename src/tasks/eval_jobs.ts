// Evaluation jobs: what answering and scoring one item needs, whatever the set format.
//   an eval set directory in the llava-st-synth format (items.json + media/): each item's question as
//       written (demo coordinate syntax), scored by set_metrics;
//   an ST-Align benchmark JSON (architecture.md §11): each question built as VidSTGChatDataset does,
//       with the benchmark coordinate syntax, scored by the reference metrics (metrics.ts).
// The `eval` command (cli/eval.ts) picks the items; the loop (eval_loop.ts) answers them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { pyReprFloat, pyRoundDigits } from '../io/python.js';
import type { MediaInput } from './assistant.js';
import type { AnswerTask } from './coordinates.js';
import { loadStAlignBenchmark, ST_ALIGN_LIMIT, type EvalItem, type StAlignItem } from './eval_set.js';
import { evalStItem, type StRecord, type StTask } from './metrics.js';
import { replaceAndNormalize } from './parse.js';
import { formatBenchmarkCoordinates } from './prompt.js';
import { scoreEvalSet } from './set_metrics.js';
import { pickTemplate, SPAN_LEADS, TASK_SUFFIX } from './task_prompts.js';

export interface EvalJob {
  id: string;
  task: AnswerTask;
  media: MediaInput;
  /** The question handed to the assistant (its media tag is added there). */
  question: string;
  /** Fields copied into the result line (ST-Align: the record shape score.ts reads). */
  extra: Record<string, unknown>;
  /** Per-item scores of an answer text. */
  score: (answerText: string) => Record<string, unknown>;
}

/** Jobs for an eval set directory in the llava-st-synth format. */
export function setJobs(dir: string, items: readonly EvalItem[]): EvalJob[] {
  return items.map((item) => {
    const path = join(dir, item.media);
    const media: MediaInput = item.task === 'rec' || /\.(png|jpe?g)$/i.test(item.media) ? { kind: 'image', path } : { kind: 'video', path };
    return {
      id: item.id, task: item.task, media, question: item.question, extra: {},
      score: (text) => {
        const { id: _id, task: _task, missing: _missing, ...s } = scoreEvalSet([item], [{ id: item.id, answer_text: text }]).perItem[0]!;
        return s as Record<string, unknown>;
      },
    };
  });
}

/**
 * The human turn of an ST-Align item as VidSTGChatDataset builds it (architecture.md §11):
 * "From <s> to <e>" -> "{lead} {<s>,<e>}"; time tokens -> (frame - s0)/(D - 1) rounded to 3 decimals;
 * list-valued spatial tokens (an [x, y, w, h] pixel box) -> the Python list repr of the normalised
 * [x1, y1, x2, y2], rounded to 3 decimals; the task suffix with no space; then the benchmark
 * coordinate syntax (§5.4, INPUT mode). The reference's unseeded lead choice is seeded by the index.
 */
export function stAlignQuestion(item: StAlignItem, meta: Record<string, unknown>, task: StTask): string {
  const [s0, s1] = item.split;
  const d = s1 - s0 + 1;
  const lead = pickTemplate(SPAN_LEADS, { seed: item.index }, 'ST-Align span lead');
  let q = item.prompt_template.replaceAll('From <s> to <e>', `${lead} {<s>,<e>}`);
  const time = (meta.time_token ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(time)) {
    if (typeof v !== 'number' || !q.includes(k)) continue;
    if (d === 1) throw new InputError(`ST-Align item ${item.index}: split [${s0}, ${s1}] has one frame; time ${k} cannot be normalised`);
    q = q.replaceAll(k, pyReprFloat(pyRoundDigits((v - s0) / (d - 1), 3)));
  }
  const spatial = (meta.spatial_token ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(spatial)) {
    if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => typeof x === 'number') || !q.includes(k)) continue;
    const [x, y, w, h] = v as number[];
    const box = [x! / item.width, y! / item.height, (x! + w!) / item.width, (y! + h!) / item.height];
    q = q.replaceAll(k, `[${box.map((b) => pyReprFloat(pyRoundDigits(b, 3))).join(', ')}]`);
  }
  return formatBenchmarkCoordinates(q + TASK_SUFFIX[task], 'user');
}

/** Jobs for an ST-Align benchmark JSON. */
export function stAlignJobs(path: string, task: StTask, mediaDir: string): EvalJob[] {
  const items = loadStAlignBenchmark(path, task, ST_ALIGN_LIMIT);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { meta: Record<string, unknown> }[];
  return items.map((item) => {
    const record = { split: item.split, width: item.width, height: item.height, gt: item.gt };
    return {
      id: `${task}-${item.index}`, task, question: stAlignQuestion(item, raw[item.index]!.meta, task),
      media: { kind: 'video', path: join(mediaDir, item.video_path), split: [item.split[0], item.split[1]] },
      extra: { index: item.index, video_path: item.video_path, ...record },
      score: (text) => {
        try {
          const r = evalStItem({ ...record, outputs: text, converted_outputs: replaceAndNormalize(text) } as StRecord, task, item.index);
          return { tiou: r.tiou, siou: r.siou, viou: r.viou, pred_span: r.tvgPred, parsed: !r.tvgPredRegexFallback || task === 'svg', pairs: r.stpairs.size };
        } catch (e) {
          return { error: (e as Error).message };
        }
      },
    };
  });
}
