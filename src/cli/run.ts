// `llava-st run`: answer a question about a video or an image; prints the answer as it streams,
// then its spans and boxes (or one JSON object with --json), and optionally draws them (--viz).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { Assistant, answerBudget, answerRecord, contextLength, type AnswerResult, type MediaInput } from '../tasks/assistant.js';
import { buildPrompt } from '../tasks/prompt.js';
import { taskQuestion, TASK_MODALITY, type Task, type TaskRequest } from '../tasks/task_prompts.js';
import type { AnswerTask } from '../tasks/coordinates.js';
import { Progress } from './progress.js';
import { writeViz } from './viz_output.js';
import { loadPolicy } from '../ops/tune.js';
import { warmUpKernels } from '../ops/warmup.js';
import { tuningWorkload } from '../model/workload.js';
import { formatProfile } from '../core/profiler.js';
import { intArg, outputFile, parseCommandArgs } from './args.js';
import { checkMedia, checkModelDir } from './preflight.js';
import { parseGroup, parseMemory, parseWeights, resolveLayout } from './plan.js';

export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'llava-st-synth');

const HELP = `usage: llava-st run [--model DIR] (--video FILE [--split s0,s1] | --image FILE)
                    (--task T [--query TEXT] [--box x1,y1,x2,y2] [--span s,e] | --prompt TEXT)
                    [--json] [--viz OUT.png|OUT.gif] [--max-new-tokens N] [--dtype auto|f32|f16] [--sample] [--raw-tokens]
                    [--weights auto|f32|f16|q8|q4] [--group 16|32|64|128] [--memory GB]
  --model DIR        checkpoint folder (config.json, *.safetensors, tokenizer); default: the demo model
  --video FILE       a video; 100 frames are sampled over --split (inclusive frame range, default all)
  --image FILE       a PNG or JPEG image
  --task T           stvg | svg | elc | tvg | rec | reg | tr | dgc, with the reference's wording:
                       tvg --query CAPTION; stvg --query EVENT; svg --span s,e --query TEXT;
                       elc --span s --box x1,y1,x2,y2 (one time: the start); tr --span s,e;
                       rec --query REF; reg --box ...; dgc
                     spans (s < e) and boxes (x1 < x2, y1 < y2) are normalized to [0, 1]
  --prompt TEXT      a free-form question; coordinates inline as <t0.4>, <w0.5>, <h0.6>; without
                     --video/--image the language model alone answers it
  --json             print one JSON object (answer, ids, spans, boxes, timings)
  --max-new-tokens N at most N answer tokens (default 1024; at most the model's context less the prompt)
  --dtype D          compute dtype; auto (default): the faster of f32/f16 on this adapter, measured once (llava-st tune)
  --weights W        storage of the Linear weights, apart from --dtype: f32, f16, or q8/q4 quantized
                     at load; auto (default) takes the most precise one that fits (see llava-st plan)
  --group G          quantization group size along each row (default 32)
  --memory GB        memory behind the adapter (default: RAM on a CPU adapter; a GPU's is unknown)
  --viz OUT          draw the boxes and the span: .png (image, or a contact sheet) or .gif (video)
  --raw-tokens       control tokens typed in --prompt/--query (<|im_end|>, <im_patch>, a second <image>)
                     act as tokens, as in the reference; by default they are read as plain text
environment: LLAVA_ST_PROFILE=1 prints the GPU time of every kernel at the end (timestamp queries;
  LLAVA_ST_PROFILE=shapes: a row per kernel and op shape);
  LLAVA_ST_KERNEL=op=variant,... forces kernel variants; LLAVA_ST_TUNE=off skips the kernel cache and tuning;
  LLAVA_ST_TRACE=N prints a line as each batch of N kernels completes (how far a long run has got);
  LLAVA_ST_POLL=spin keeps Dawn's busy-wait on the JS thread while the GPU works (default: a 1 ms timer)`;

const TASKS = Object.keys(TASK_MODALITY) as Task[];
const STRICT: ReadonlySet<string> = new Set<AnswerTask>(['tvg', 'stvg', 'svg', 'rec', 'elc']);

function numbers(flag: string, s: string | undefined, n: number): number[] {
  if (s === undefined) throw new InputError(`--${flag} is required for this task`);
  const v = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (v.length !== n || v.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
    throw new InputError(`--${flag} ${s}: expected ${n === 1 ? 'one number' : `${n} comma-separated numbers`} in [0, 1]`);
  }
  return v;
}

function span(s: string | undefined): [number, number] {
  const [a, b] = numbers('span', s, 2) as [number, number];
  if (!(a < b)) throw new InputError(`--span ${s}: the start must come before the end (s < e)`);
  return [a, b];
}

function box(s: string | undefined): [number, number, number, number] {
  const b = numbers('box', s, 4) as [number, number, number, number];
  if (!(b[0] < b[2]) || !(b[1] < b[3])) throw new InputError(`--box ${s}: expected x1 < x2 and y1 < y2 (left, top, right, bottom)`);
  return b;
}

function required(flag: string, s: string | undefined): string {
  if (!s?.trim()) throw new InputError(`--${flag} is required for this task`);
  return s;
}

export function taskRequest(task: string, v: { query?: string; box?: string; span?: string }): TaskRequest {
  switch (task) {
    case 'rec': return { task, ref: required('query', v.query) };
    case 'reg': return { task, box: box(v.box) };
    case 'tvg': return { task, caption: required('query', v.query) };
    case 'tr': return { task, span: span(v.span) };
    case 'stvg': return { task, event: required('query', v.query) };
    case 'svg': return { task, span: span(v.span), query: required('query', v.query) };
    case 'elc': {
      if (v.span?.includes(',')) throw new InputError(`--span ${v.span}: elc takes one time, the start (e.g. --span 0.3)`);
      return { task, start: numbers('span', v.span, 1)[0]!, box: box(v.box) };
    }
    case 'dgc': return { task };
    default: throw new InputError(`--task ${task}: unknown task (one of ${TASKS.join(', ')})`);
  }
}

function parseSplit(s: string | undefined): [number, number] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (v.length !== 2 || v.some((x) => !Number.isSafeInteger(x) || x < 0) || v[0]! > v[1]!) {
    throw new InputError(`--split ${s}: expected two frame numbers s0,s1 with 0 <= s0 <= s1`);
  }
  return [v[0]!, v[1]!];
}

export function formatAnswer(r: AnswerResult): string {
  const lines: string[] = [];
  const fmt = (x: number) => x.toFixed(3);
  for (const s of r.grounding.spans) {
    const when = s.start.seconds !== undefined ? ` = ${s.start.seconds.toFixed(2)}s..${s.end.seconds!.toFixed(2)}s (frames ${s.start.frame}..${s.end.frame})` : '';
    lines.push(`span  ${fmt(s.start.normalized)}..${fmt(s.end.normalized)}${when}`);
  }
  for (const b of r.grounding.boxes) {
    const at = b.time ? `t ${fmt(b.time.normalized)}${b.time.frame !== undefined ? ` (frame ${b.time.frame})` : ''}  ` : '';
    const px = (p: readonly number[]) => `[${p.map((x) => x.toFixed(1)).join(', ')}]`;
    const shown = b.displayPixels ? `; ${px(b.displayPixels)} px as a player shows it (turned ${r.media?.rotation}°)` : '';
    lines.push(`box   ${at}[${b.normalized.map(fmt).join(', ')}] = ${px(b.pixels)} px${shown}`);
  }
  for (const p of r.grounding.problems) lines.push(`note  ${p.kind} at ${p.at}: ${p.message}`);
  if (r.media?.rotation) {
    lines.push(`note  players turn this video ${r.media.rotation}° clockwise; the model saw the frames as stored (as the reference's decord reads them): px are the stored frame's, the turned picture's follow them`);
  }
  const t = r.timings;
  lines.push(`time  media ${t.mediaMs.toFixed(0)} ms, vision+prefill ${t.prefillMs.toFixed(0)} ms (${r.promptTokens} tokens), ` +
    `decode ${t.decodeMs.toFixed(0)} ms (${t.tokensPerSecond.toFixed(1)} tokens/s)`);
  return lines.join('\n');
}

export async function runMain(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    model: { type: 'string' }, video: { type: 'string' }, image: { type: 'string' }, split: { type: 'string' },
    task: { type: 'string' }, query: { type: 'string' }, box: { type: 'string' }, span: { type: 'string' },
    prompt: { type: 'string' }, json: { type: 'boolean' }, viz: { type: 'string' }, 'max-new-tokens': { type: 'string' },
    dtype: { type: 'string' }, sample: { type: 'boolean' }, 'raw-tokens': { type: 'boolean' },
    weights: { type: 'string' }, group: { type: 'string' }, memory: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) { console.log(HELP); return 0; }

  // 1. The arguments alone.
  if (values.video && values.image) throw new InputError('give either --video or --image, not both');
  if (!!values.task === !!values.prompt) throw new InputError('give either --task (with its arguments) or --prompt');
  if (values.split && !values.video) throw new InputError('--split applies to --video only');
  const dtypeArg = values.dtype ?? 'auto';
  if (dtypeArg !== 'f32' && dtypeArg !== 'f16' && dtypeArg !== 'auto') throw new InputError(`--dtype ${dtypeArg}: expected f32, f16 or auto`);
  const weightsArg = parseWeights(values.weights), group = parseGroup(values.group), memoryGB = parseMemory(values.memory);
  let question: string;
  let task: Task | undefined;
  if (values.task) {
    const req = taskRequest(values.task, values);
    task = req.task;
    question = taskQuestion(req);
    const want = TASK_MODALITY[task];
    const have = values.video ? 'video' : values.image ? 'image' : 'none';
    if (want !== have) throw new InputError(`--task ${task} works on ${want === 'video' ? 'a --video' : 'an --image'}`);
  } else {
    question = values.prompt!;
    if (!question.trim()) throw new InputError('--prompt is empty');
  }
  const media: MediaInput | undefined = values.video
    ? { kind: 'video', path: values.video, ...(values.split ? { split: parseSplit(values.split)! } : {}) }
    : values.image ? { kind: 'image', path: values.image } : undefined;
  if (values.viz && !media) throw new InputError('--viz needs --video or --image');

  // 2. The files, before the device starts (seconds to minutes), cheapest first.
  if (values.viz) await outputFile('viz', values.viz, ['.png', '.gif']);
  if (media) await checkMedia(media);
  const modelDir = values.model ?? DEFAULT_MODEL;
  const { config, tokenizer } = await checkModelDir(modelDir);
  const context = contextLength(config);
  const maxNewArg = values['max-new-tokens'] === undefined ? 1024
    : intArg('max-new-tokens', values['max-new-tokens'], 1, context, `this model's context is ${context} tokens, prompt included`);
  const rawTokens = values['raw-tokens'] ?? false;
  const promptTokens = buildPrompt(tokenizer, question, { modality: media?.kind ?? 'text', rawTokens }).ids.length;
  const maxNew = Math.min(maxNewArg, answerBudget(promptTokens, config, values.task ? '--query' : '--prompt'));

  // 3. The device and the model.
  const gpu = await requestGpu();
  try {
    if (dtypeArg === 'f16' && !gpu.hasF16) throw new InputError('--dtype f16: this adapter has no shader-f16');
    // The kernel policy's measurements (cached per adapter; tuned once on first use, LLAVA_ST_TUNE=off skips).
    // First-run tuning times this model's own sizes (model/workload.ts).
    const workload = tuningWorkload(config, gpu.limits.maxStorageBufferBindingSize);
    const policy = await loadPolicy(gpu, { workload, log: (s) => console.error(`kernels: ${s}`) });
    const dtype = dtypeArg === 'auto' ? policy.dtype : dtypeArg;
    // The plan (headers only) decides the weight format; nothing is read when nothing fits.
    const { layout } = await resolveLayout(gpu, modelDir, { compute: dtype, want: weightsArg, group, maxNewTokens: maxNew, ...(memoryGB !== undefined ? { memoryGB } : {}) });
    // Builds the kernels of this model's last questions while the weights load (ops/warmup.ts).
    const warm = await warmUpKernels(gpu, { workload, dtype, format: layout.format, log: (s) => console.error(`kernels: ${s}`) });
    if (layout.format !== dtype) console.error(`weights: ${layout.format}${layout.format.startsWith('q') ? ` (groups of ${layout.group})` : ''}, compute ${dtype}${weightsArg === 'auto' ? ' (auto: see llava-st plan)' : ''}`);
    const profiler = process.env.LLAVA_ST_PROFILE ? gpu.stream.profile({ byShape: process.env.LLAVA_ST_PROFILE === 'shapes' }) : undefined;
    const bars = { weights: new Progress('loading weights'), frames: new Progress('decoding frames'), generate: new Progress('generating') };
    const assistant = await Assistant.load(gpu, modelDir, { dtype, tokenizer, weights: { format: layout.format, group: layout.group }, onProgress: (s, d, t) => { if (s === 'weights') bars.weights.update(d, t); } });
    bars.weights.done();
    try {
      const stream = !values.json;
      const r = await assistant.ask({
        question, ...(media ? { media } : {}), ...(task && STRICT.has(task) ? { task: task as AnswerTask } : {}),
        maxNewTokens: maxNew, ...(values.sample ? { sampling: true } : {}), ...(rawTokens ? { rawTokens } : {}),
        ...(stream ? { onText: (d: string) => process.stdout.write(d) } : {}),
        onProgress: (s, d, t) => { if (s === 'frames') bars.frames.update(d, t); if (s === 'generate' && !stream) bars.generate.update(d, t); },
      });
      bars.frames.done(); bars.generate.done();
      await warm.save();
      // The answer is printed even when the picture cannot be written; that error comes after it.
      const vizError = values.viz ? await writeViz(values.viz, r).then(() => undefined, (e: unknown) => e) : undefined;
      const viz = values.viz && vizError === undefined ? values.viz : undefined;
      if (values.json) {
        console.log(JSON.stringify({ ...answerRecord(r, { task, model: modelDir, dtype }), weights: layout.format, ...(viz ? { viz } : {}) }, null, 2));
      } else {
        process.stdout.write('\n');
        console.log(formatAnswer(r));
        if (viz) console.log(`viz   ${viz}`);
      }
      if (profiler) console.error(`\nGPU time by kernel (LLAVA_ST_PROFILE; one pass per dispatch, so slower overall):\n${formatProfile(await profiler.report())}`);
      if (vizError !== undefined) throw vizError;
      return 0;
    } finally {
      assistant.dispose();
    }
  } finally {
    gpu.destroy();
  }
}
