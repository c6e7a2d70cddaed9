// `llava-st run`: answer a question about a video or an image; prints the answer as it streams,
// then its spans and boxes (or one JSON object with --json), and optionally draws them (--viz).
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { Assistant, type AnswerResult, type MediaInput } from '../tasks/assistant.js';
import { taskQuestion, TASK_MODALITY, type Task, type TaskRequest } from '../tasks/task_prompts.js';
import type { AnswerTask } from '../tasks/coordinates.js';
import { Progress } from './progress.js';
import { writeViz } from './viz_output.js';
import { preferredComputeDType } from '../bench/ceilings.js';
import { formatProfile } from '../core/profiler.js';
import { parseGroup, parseMemory, parseWeights, resolveLayout } from './plan.js';

export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'llava-st-synth');

const HELP = `usage: llava-st run [--model DIR] (--video FILE [--split s0,s1] | --image FILE)
                    (--task T [--query TEXT] [--box x1,y1,x2,y2] [--span s,e] | --prompt TEXT)
                    [--json] [--viz OUT.png|OUT.gif] [--max-new-tokens N] [--dtype auto|f32|f16] [--sample]
                    [--weights auto|f32|f16|q8|q4] [--group 16|32|64|128] [--memory GB]
  --model DIR        checkpoint folder (config.json, *.safetensors, tokenizer); default: the demo model
  --video FILE       a video; 100 frames are sampled over --split (inclusive frame range, default all)
  --image FILE       a PNG or JPEG image
  --task T           stvg | svg | elc | tvg | rec | reg | tr | dgc, with the reference's wording:
                       tvg --query CAPTION; stvg --query EVENT; svg --span s,e --query TEXT;
                       elc --span s --box x1,y1,x2,y2; tr --span s,e; rec --query REF; reg --box ...; dgc
                     spans and boxes are normalized to [0, 1]
  --prompt TEXT      a free-form question; coordinates inline as <t0.4>, <w0.5>, <h0.6>; without
                     --video/--image the language model alone answers it
  --json             print one JSON object (answer, ids, spans, boxes, timings)
  --dtype D          compute dtype; auto (default) picks the faster of f32/f16 on this adapter, measured
  --weights W        storage of the Linear weights, apart from --dtype: f32, f16, or q8/q4 quantized
                     at load; auto (default) takes the most precise one that fits (see llava-st plan)
  --group G          quantization group size along each row (default 32)
  --memory GB        memory behind the adapter (default: RAM on a CPU adapter; a GPU's is unknown)
  --viz OUT          draw the boxes and the span: .png (image, or a contact sheet) or .gif (video)
environment: LLAVA_ST_PROFILE=1 prints the GPU time of every kernel at the end (timestamp queries)`;

const TASKS = Object.keys(TASK_MODALITY) as Task[];
const STRICT: ReadonlySet<string> = new Set<AnswerTask>(['tvg', 'stvg', 'svg', 'rec', 'elc']);

function numbers(flag: string, s: string | undefined, n: number): number[] {
  if (s === undefined) throw new InputError(`--${flag} is required for this task`);
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== n || v.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
    throw new InputError(`--${flag} ${s}: expected ${n} comma-separated numbers in [0, 1]`);
  }
  return v;
}

function required(flag: string, s: string | undefined): string {
  if (!s) throw new InputError(`--${flag} is required for this task`);
  return s;
}

export function taskRequest(task: string, v: { query?: string; box?: string; span?: string }): TaskRequest {
  switch (task) {
    case 'rec': return { task, ref: required('query', v.query) };
    case 'reg': return { task, box: numbers('box', v.box, 4) as [number, number, number, number] };
    case 'tvg': return { task, caption: required('query', v.query) };
    case 'tr': return { task, span: numbers('span', v.span, 2) as [number, number] };
    case 'stvg': return { task, event: required('query', v.query) };
    case 'svg': return { task, span: numbers('span', v.span, 2) as [number, number], query: required('query', v.query) };
    case 'elc': return { task, start: numbers('span', v.span, 1)[0]!, box: numbers('box', v.box, 4) as [number, number, number, number] };
    case 'dgc': return { task };
    default: throw new InputError(`unknown task "${task}" (one of ${TASKS.join(', ')})`);
  }
}

function parseSplit(s: string | undefined): [number, number] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== 2 || v.some((x) => !Number.isSafeInteger(x) || x < 0)) throw new InputError(`--split ${s}: expected two frame numbers s0,s1`);
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
    lines.push(`box   ${at}[${b.normalized.map(fmt).join(', ')}] = [${b.pixels.map((x) => x.toFixed(1)).join(', ')}] px`);
  }
  for (const p of r.grounding.problems) lines.push(`note  ${p.kind} at ${p.at}: ${p.message}`);
  const t = r.timings;
  lines.push(`time  media ${t.mediaMs.toFixed(0)} ms, vision+prefill ${t.prefillMs.toFixed(0)} ms (${r.promptTokens} tokens), ` +
    `decode ${t.decodeMs.toFixed(0)} ms (${t.tokensPerSecond.toFixed(1)} tokens/s)`);
  return lines.join('\n');
}

export async function runMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, video: { type: 'string' }, image: { type: 'string' }, split: { type: 'string' },
    task: { type: 'string' }, query: { type: 'string' }, box: { type: 'string' }, span: { type: 'string' },
    prompt: { type: 'string' }, json: { type: 'boolean' }, viz: { type: 'string' }, 'max-new-tokens': { type: 'string' },
    dtype: { type: 'string' }, sample: { type: 'boolean' }, weights: { type: 'string' }, group: { type: 'string' }, memory: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  const modelDir = values.model ?? DEFAULT_MODEL;
  if (!existsSync(join(modelDir, 'config.json'))) throw new InputError(`--model ${modelDir}: no config.json there (a LLaVA-ST checkpoint folder is needed)`);
  if (values.video && values.image) throw new InputError('give either --video or --image, not both');
  if (!!values.task === !!values.prompt) throw new InputError('give either --task (with its arguments) or --prompt');
  if (values.split && !values.video) throw new InputError('--split applies to --video only');
  const maxNew = values['max-new-tokens'] !== undefined ? Number(values['max-new-tokens']) : 1024;
  if (!Number.isSafeInteger(maxNew) || maxNew < 1) throw new InputError(`--max-new-tokens ${values['max-new-tokens']}: expected a positive integer`);
  const dtypeArg = values.dtype ?? 'auto';
  if (dtypeArg !== 'f32' && dtypeArg !== 'f16' && dtypeArg !== 'auto') throw new InputError(`--dtype ${dtypeArg}: expected f32, f16 or auto`);
  const weightsArg = parseWeights(values.weights), group = parseGroup(values.group), memoryGB = parseMemory(values.memory);

  let question: string;
  let task: Task | undefined;
  if (values.task) {
    task = values.task as Task;
    const req = taskRequest(values.task, values);
    question = taskQuestion(req);
    const want = TASK_MODALITY[task];
    const have = values.video ? 'video' : values.image ? 'image' : 'none';
    if (want !== have) throw new InputError(`--task ${task} works on ${want === 'video' ? 'a --video' : 'an --image'}`);
  } else {
    question = values.prompt!;
  }
  const media: MediaInput | undefined = values.video
    ? { kind: 'video', path: values.video, ...(values.split ? { split: parseSplit(values.split)! } : {}) }
    : values.image ? { kind: 'image', path: values.image } : undefined;
  if (values.viz && !media) throw new InputError('--viz needs --video or --image');

  const gpu = await requestGpu();
  if (dtypeArg === 'f16' && !gpu.hasF16) throw new InputError('--dtype f16: this adapter has no shader-f16');
  const dtype = dtypeArg === 'auto' ? await preferredComputeDType(gpu) : dtypeArg;
  // The plan (headers only) decides the weight format; nothing is read when nothing fits.
  const { layout } = await resolveLayout(gpu, modelDir, { compute: dtype, want: weightsArg, group, maxNewTokens: maxNew, ...(memoryGB !== undefined ? { memoryGB } : {}) });
  if (layout.format !== dtype) console.error(`weights: ${layout.format}${layout.format.startsWith('q') ? ` (groups of ${layout.group})` : ''}, compute ${dtype}${weightsArg === 'auto' ? ' (auto: see llava-st plan)' : ''}`);
  const profiler = process.env.LLAVA_ST_PROFILE ? gpu.stream.profile() : undefined;
  const bars = { weights: new Progress('loading weights'), frames: new Progress('decoding frames'), generate: new Progress('generating') };
  try {
    const assistant = await Assistant.load(gpu, modelDir, { dtype, weights: { format: layout.format, group: layout.group }, onProgress: (s, d, t) => bars[s].update(d, t) });
    bars.weights.done();
    try {
      const stream = !values.json;
      const r = await assistant.ask({
        question, ...(media ? { media } : {}), ...(task && STRICT.has(task) ? { task: task as AnswerTask } : {}),
        maxNewTokens: maxNew, ...(values.sample ? { sampling: true } : {}),
        ...(stream ? { onText: (d: string) => process.stdout.write(d) } : {}),
        onProgress: (s, d, t) => { if (s === 'frames') bars.frames.update(d, t); if (s === 'generate' && !stream) bars.generate.update(d, t); },
      });
      bars.frames.done(); bars.generate.done();
      if (values.viz) await writeViz(values.viz, r);
      if (values.json) {
        console.log(JSON.stringify({ task: task ?? 'free', model: modelDir, dtype, weights: layout.format, ...r, ...(values.viz ? { viz: values.viz } : {}) }, null, 2));
      } else {
        process.stdout.write('\n');
        console.log(formatAnswer(r));
        if (values.viz) console.log(`viz   ${values.viz}`);
      }
      if (profiler) console.error(`\nGPU time by kernel (LLAVA_ST_PROFILE; one pass per dispatch, so slower overall):\n${formatProfile(await profiler.report())}`);
      return 0;
    } finally {
      assistant.dispose();
    }
  } finally {
    gpu.destroy();
  }
}
