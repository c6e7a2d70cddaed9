// `llava-st eval --model DIR --set SET [--task T] [--limit N] [--ids A,B] [--out results.jsonl] [--resume]
//                [--json SUMMARY.json] [--max-new-tokens N] [--media-dir DIR] [--dtype f32|f16] [--weights f32|f16|q8|q4] [--group G]`
//
// Runs the assistant over an evaluation set and scores it.
//   SET a directory: an eval set in the llava-st-synth format (items.json + media/); each item's
//       question is used as written (demo coordinate syntax), 56 new tokens by default (the
//       synth README); T is tvg, stvg, svg, rec or all (default).
//   SET a .json file: an ST-Align benchmark (architecture.md §11); T is stvg, svg or elc (required);
//       videos are read from --media-dir (default: the JSON's folder) and each question is built
//       as VidSTGChatDataset does, with the benchmark coordinate syntax.
// One JSON line per item is appended to --out as soon as the item is answered (ResultsWriter), so
// an interrupted run continues with --resume: ids already in the file are skipped and never
// counted twice. Without --resume an existing --out is an error. The aggregate table is then
// computed from the results file (score.ts's formatting) and printed as Markdown; --json writes
// the numbers too.

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseGroup, parseWeights } from './plan.js';
import type { WeightFormat } from '../nn/weight_format.js';
import { InputError, LlavaStError } from '../core/errors.js';
import { EVAL_TASKS, loadEvalSet, ST_ALIGN_LIMIT } from '../tasks/eval_set.js';
import { setJobs, stAlignJobs, type EvalJob } from '../tasks/eval_jobs.js';
import { assistantAnswerer, runEvalLoop, type Answerer } from '../tasks/eval_loop.js';
import type { StTask } from '../tasks/metrics.js';
import { readResults, ResultsWriter } from '../tasks/results.js';
import { Progress } from './progress.js';
import { outputFile, parseCommandArgs } from './args.js';
import { scoreBench, scoreSet } from './score.js';

const SET_TASKS = [...EVAL_TASKS, 'all'] as const;
const ST_ALIGN_TASKS: readonly StTask[] = ['stvg', 'svg', 'elc'];
/** The synth README: "Greedy, KV cache, max_new_tokens 56". */
const SET_MAX_NEW_TOKENS = 56;
const ST_ALIGN_MAX_NEW_TOKENS = 1024;

const USAGE = `usage: llava-st eval --set SET [--model DIR] [--task T] [--limit N] [--ids ID,...] [--out results.jsonl]
                     [--resume] [--json SUMMARY.json] [--max-new-tokens N] [--media-dir DIR] [--dtype f32|f16]
                     [--weights f32|f16|q8|q4] [--group G]
  --set DIR|FILE     an eval set directory (items.json + media/), or an ST-Align benchmark JSON
  --model DIR        checkpoint folder; default: the demo model (models/llava-st-synth)
  --task T           set directory: ${SET_TASKS.join(', ')} (default all); ST-Align JSON: ${ST_ALIGN_TASKS.join(', ')} (required)
  --limit N          only the first N items (after --task; an ST-Align JSON is cut at ${ST_ALIGN_LIMIT} first)
  --ids A,B,...      only these item ids
  --out FILE         one JSON line per item (default results.jsonl); must not exist unless --resume
  --resume           keep --out and skip the ids already in it
  --json FILE        also write the aggregate numbers as JSON
  --max-new-tokens N default ${SET_MAX_NEW_TOKENS} for a set directory, ${ST_ALIGN_MAX_NEW_TOKENS} for ST-Align
  --media-dir DIR    where an ST-Align JSON's video_path values live (default: the JSON's folder)`;

// ---- the command -------------------------------------------------------------------------------

export interface EvalIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Replaces the real assistant (tests): given the model folder and options, an answerer. */
  answerer?: (modelDir: string, opts: { dtype: 'f32' | 'f16'; maxNewTokens: number; weights?: { format: WeightFormat; group: number } }) => Promise<{ answer: Answerer; close: () => void }>;
  /** Whether to draw the progress bar (default: stderr is a TTY). */
  tty?: boolean;
}

function positiveInt(flag: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`--${flag} ${s}: expected a positive integer`);
  return n;
}

async function realAnswerer(modelDir: string, opts: { dtype: 'f32' | 'f16'; maxNewTokens: number; weights?: { format: WeightFormat; group: number } }): Promise<{ answer: Answerer; close: () => void }> {
  const { requestGpu, Assistant, loadPolicy, warmUpKernels } = await import('../index.js');
  const { tuningWorkloadOf } = await import('../model/workload.js');
  const gpu = await requestGpu();
  try {
    // The kernel policy's cached measurements (tuned once on first use; LLAVA_ST_TUNE=off: defaults).
    const workload = await tuningWorkloadOf(modelDir, gpu.limits.maxStorageBufferBindingSize);
    await loadPolicy(gpu, { workload, log: (s) => process.stderr.write(`kernels: ${s}\n`) });
    // Builds the kernels of this model's last questions while the weights load (ops/warmup.ts).
    const warm = await warmUpKernels(gpu, { workload, dtype: opts.dtype, ...(opts.weights ? { format: opts.weights.format } : {}), log: (s) => process.stderr.write(`kernels: ${s}\n`) });
    const bar = new Progress('loading weights');
    const assistant = await Assistant.load(gpu, modelDir, { dtype: opts.dtype, ...(opts.weights ? { weights: opts.weights } : {}), onProgress: (_s, d, t) => bar.update(d, t) });
    bar.done();
    const ask = assistantAnswerer(assistant, opts.maxNewTokens);
    return {
      answer: async (job) => { const answered = await ask(job); await warm.save(); return answered; },
      close: () => { assistant.dispose(); gpu.destroy(); },
    };
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}

async function defaultModel(): Promise<string> {
  return (await import('./run.js')).DEFAULT_MODEL;
}

export async function evalMain(argv: string[], io: EvalIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => { process.stdout.write(s); });
  const err = io.stderr ?? ((s: string) => { process.stderr.write(s); });
  try {
    const { values } = parseCommandArgs(argv, {
      model: { type: 'string' }, set: { type: 'string' }, task: { type: 'string' }, limit: { type: 'string' }, ids: { type: 'string' },
      out: { type: 'string' }, resume: { type: 'boolean' }, json: { type: 'string' }, 'max-new-tokens': { type: 'string' },
      'media-dir': { type: 'string' }, dtype: { type: 'string' }, weights: { type: 'string' }, group: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    });
    if (values.help === true) { out(`${USAGE}\n`); return 0; }
    if (values.set === undefined) throw new InputError('--set is required (an eval set folder or an ST-Align JSON; --help for the options)');
    if (!existsSync(values.set)) throw new InputError(`--set ${values.set}: no such directory or file`);
    const isSetDir = statSync(values.set).isDirectory();
    const limit = positiveInt('limit', values.limit);
    const maxNewTokens = positiveInt('max-new-tokens', values['max-new-tokens']) ?? (isSetDir ? SET_MAX_NEW_TOKENS : ST_ALIGN_MAX_NEW_TOKENS);
    const dtype = values.dtype ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'f16') throw new InputError(`--dtype ${dtype}: expected f32 or f16`);
    const weightsArg = parseWeights(values.weights ?? dtype);
    if (weightsArg === 'auto') throw new InputError('eval --weights: name a format (f32, f16, q8, q4)');
    const weights = { format: weightsArg, group: parseGroup(values.group) };
    const modelDir = values.model ?? await defaultModel();
    if (!existsSync(join(modelDir, 'config.json'))) throw new InputError(`--model ${modelDir}: no config.json there (a LLaVA-ST checkpoint folder is needed)`);

    // Items -> jobs.
    let task: string;
    let jobs: EvalJob[];
    if (isSetDir) {
      if (values['media-dir'] !== undefined) throw new InputError('--media-dir applies to an ST-Align JSON only (a set directory holds its media)');
      task = values.task ?? 'all';
      if (!(SET_TASKS as readonly string[]).includes(task)) throw new InputError(`--task ${task}: unknown task for an eval set directory; valid: ${SET_TASKS.join(', ')}`);
      const set = loadEvalSet(values.set);
      jobs = setJobs(values.set, set.items.filter((it) => task === 'all' || it.task === task));
    } else {
      if (values.task === undefined) throw new InputError(`--set ${values.set} is an ST-Align JSON: --task is required (${ST_ALIGN_TASKS.join(', ')})`);
      task = values.task;
      if (!(ST_ALIGN_TASKS as readonly string[]).includes(task)) throw new InputError(`--task ${task}: unknown task for an ST-Align benchmark JSON; valid: ${ST_ALIGN_TASKS.join(', ')}`);
      const mediaDir = values['media-dir'] ?? dirname(resolve(values.set));
      if (!existsSync(mediaDir) || !statSync(mediaDir).isDirectory()) throw new InputError(`--media-dir ${mediaDir}: no such directory`);
      jobs = stAlignJobs(values.set, task as StTask, mediaDir);
    }
    if (values.ids !== undefined) {
      const want = values.ids.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const known = new Set(jobs.map((j) => j.id));
      const unknown = want.filter((id) => !known.has(id));
      if (unknown.length > 0) throw new InputError(`--ids: not in ${values.set}${task !== 'all' ? ` (task ${task})` : ''}: ${unknown.join(', ')}`);
      const keep = new Set(want);
      jobs = jobs.filter((j) => keep.has(j.id));
    }
    if (limit !== undefined) jobs = jobs.slice(0, limit);
    if (jobs.length === 0) throw new InputError(`--set ${values.set}: no items to evaluate${task !== 'all' ? ` for task ${task}` : ''}`);

    // The results file: fresh, or resumed (a broken line is an error naming the file and line).
    const outPath = values.out ?? 'results.jsonl';
    if (values.resume !== true && existsSync(outPath)) throw new InputError(`--out ${outPath} already exists; pass --resume to continue it, or choose another file`);
    if (!existsSync(outPath)) await outputFile('out', outPath);
    if (values.json !== undefined) await outputFile('json', values.json);
    const already = values.resume === true && existsSync(outPath)
      ? new Set(readResults(outPath, { tolerateTruncatedTail: true }).lines.map((l) => l.id)) : new Set<string>();
    const todo = jobs.filter((j) => !already.has(j.id));
    for (const j of todo) {
      if (!existsSync(j.media.path)) throw new InputError(`item ${j.id}: media file ${j.media.path} not found`);
    }
    if (jobs.length > todo.length) err(`resuming ${outPath}: ${jobs.length - todo.length} of ${jobs.length} items already answered\n`);

    // Answer what is left.
    const t0 = performance.now();
    let answered = 0;
    // The model is loaded before the results file is created: a failed load leaves no empty file behind.
    const answerer = todo.length > 0 ? await (io.answerer ?? realAnswerer)(modelDir, { dtype, maxNewTokens, weights }) : undefined;
    const writer = ResultsWriter.open(outPath, { resume: values.resume === true });
    if (answerer !== undefined) {
      const { answer, close } = answerer;
      const tty = io.tty ?? !!process.stderr.isTTY;
      const bar = new Progress('eval');
      const tStart = performance.now();
      bar.update(0, todo.length, ' items');
      try {
        ({ answered } = await runEvalLoop(jobs, writer, answer, {
          onItem: (line, done, total) => {
            if (tty) { bar.update(done, total, ' items'); return; }
            const secs = (performance.now() - tStart) / 1000;
            const eta = done < total ? `, eta ${((secs / done) * (total - done)).toFixed(0)} s` : '';
            err(`[${done}/${total}] ${line.id}: ${String(line.answer_text)} (${(done / secs).toFixed(2)} items/s${eta})\n`);
          },
        }));
      } finally {
        bar.done();
        close();
      }
    }
    const seconds = (performance.now() - t0) / 1000;

    // The aggregate, from the results file: every selected id once.
    const read = readResults(outPath);
    const selected = new Set(jobs.map((j) => j.id));
    const lines = read.lines.filter((l) => selected.has(l.id));
    const scored = isSetDir ? scoreSet(task, values.set, lines, selected) : scoreBench(task, lines);
    const notes = read.duplicates.filter((d) => selected.has(d.id)).map((d) => `id '${d.id}' occurs on lines ${d.lines.join(', ')} of ${outPath}; the last one is scored, once`);
    const other = read.lines.length - lines.length;
    if (other > 0) notes.push(`${other} line(s) of ${outPath} are not among the selected items and were not scored`);
    out(`${scored.table}\n`);
    for (const n of [...notes, ...scored.notes]) out(`\nNote: ${n}\n`);
    const rate = answered > 0 ? `, ${(answered / seconds).toFixed(3)} items/s` : '';
    out(`\n${lines.length} item(s) scored from ${outPath} (${answered} answered now in ${seconds.toFixed(1)} s${rate}, ${jobs.length - todo.length} resumed)\n`);
    if (values.json !== undefined) {
      const run = { model: modelDir, set: values.set, task, items: jobs.length, answered, resumed: jobs.length - todo.length, seconds, results: outPath, max_new_tokens: maxNewTokens, dtype, weights: weights.format };
      writeFileSync(values.json, `${JSON.stringify({ ...(scored.json as Record<string, unknown>), run }, null, 2)}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof LlavaStError) { err(`error: ${e.message}\n`); return 1; }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`error: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}
