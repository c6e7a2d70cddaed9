// From a video or image file and a question to a grounded answer: the whole pipeline in one place.
//   media file -> io (decode, sample 100 frames, Pillow-exact resize, normalize)
//   question   -> tasks/prompt (ChatML, media placeholders, coordinate placeholders + values)
//   both       -> model (vision, projector, LAPE, packer, splice, Qwen2 prefill, greedy decode)
//   ids        -> tokenizer decode -> grounding (spans, boxes; frames, seconds, pixels)
import type { Gpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import type { ModelSource } from '../core/source.js';
import { decodeImage, decodeImageBytes, type RGBImage } from '../io/image.js';
import { resizeBicubic } from '../io/resize.js';
import { toPixelValues } from '../io/pixels.js';
import { Qwen2Tokenizer } from '../io/tokenizer.js';
import { LlavaSt, type LoadOptions, type Media } from '../model/llava_st.js';
import { checkTapNames, type TapName } from '../model/tap_names.js';
import { Taps } from '../nn/taps.js';
import type { LlavaStConfig } from '../model/config.js';
import { ROPE_MAX_POSITION } from '../ops/rope.js';
import { buildPrompt, type Variables } from './prompt.js';
import { extractGrounding, type Grounding, type MediaGeometry } from './grounding.js';
import { isAnswerTask } from './coordinates.js';
import { TASK_MODALITY, taskQuestion, type Task, type TaskRequest, type TemplateChoice } from './task_prompts.js';

/**
 * A video or image: a path (Node: ffmpeg for video), or `file`, its bytes as a Blob (pages: WebCodecs
 * for video), with `path` then only naming it in messages and results.
 */
export type MediaInput =
  | { kind: 'video'; path: string; split?: [number, number]; file?: Blob }
  | { kind: 'image'; path: string; file?: Blob };

/**
 * Progress of a long step: weights, frames (decoding and preprocessing), prefill (vision, projector,
 * LAPE, packer and the prompt's forward: done 0 of 1 when it starts, 1 of 1 at the first token),
 * generation.
 */
export type ProgressFn = (stage: 'weights' | 'frames' | 'prefill' | 'generate', done: number, total: number) => void;

/**
 * One question. Ask with a free prompt (`question`) or with a task (`task` as a TaskRequest: the
 * question is built from the reference's templates). A task's answer shape is checked strictly
 * for tvg, stvg, svg, rec and elc (problems listed in `grounding.problems`); a task name beside a
 * free `question` only selects that check.
 */
export interface AskOptions {
  media?: MediaInput;
  /** A free prompt in the demo syntax (<t0.4>, <w0.5>, <h0.6> inline); the media tag is added. */
  question?: string;
  task?: Task | TaskRequest;
  /** Which reference template a TaskRequest uses (default: the first). */
  template?: TemplateChoice;
  /** Activations to hand back in `AnswerResult.taps` (TAP_NAMES; read after the prompt's forward). */
  taps?: readonly TapName[];
  maxNewTokens?: number;
  /** Streams the answer text as it grows. */
  onText?: (delta: string) => void;
  onProgress?: ProgressFn;
  /** Sample with generation_config.json's knobs instead of greedy decoding. */
  sampling?: boolean;
  /** Let control tokens typed in the question act as tokens (the reference's behaviour); default: text. */
  rawTokens?: boolean;
}

export interface Timings {
  /** Decoding and preprocessing the media (CPU, ffmpeg). */
  mediaMs: number;
  /** Prompt forward until the first token: vision, projector, LAPE, packer, prefill. */
  prefillMs: number;
  /** The rest of generation. */
  decodeMs: number;
  tokensPerSecond: number;
}

/** A tapped activation read back to the CPU (f16 widened to f32). */
export interface TapValue { shape: number[]; data: Float32Array }

export interface AnswerResult {
  /** The task asked, if any. */
  task?: Task;
  question: string;
  promptTokens: number;
  variables: Variables;
  /** The answer as the model wrote it, <|im_end|> removed. */
  text: string;
  ids: number[];
  stopped: 'eos' | 'length';
  grounding: Grounding;
  /** `rotation`: degrees players turn the video by; boxes are in the decoded (unturned) frame's pixels. */
  media?: MediaGeometry & { kind: 'video' | 'image'; path: string; frameCount?: number; split?: [number, number]; rotation?: number };
  timings: Timings;
  /** The activations asked for in AskOptions.taps that the forward produced, by name. */
  taps?: Partial<Record<TapName, TapValue>>;
}

/** Positions a prompt and its answer may take: max_position_embeddings, within what the RoPE kernel covers. */
export function contextLength(config: LlavaStConfig): number {
  return Math.min(config.text.max_position_embeddings, ROPE_MAX_POSITION);
}

/** How many answer tokens fit after a prompt of `n` ids; an InputError when the prompt alone is too long. */
export function answerBudget(n: number, config: LlavaStConfig, source = 'the question'): number {
  const limit = contextLength(config);
  if (n >= limit) throw new InputError(`${source}: the prompt is ${n} tokens; this model takes at most ${limit}, answer included: shorten it`);
  return limit - n;
}

/** Decoded, preprocessed media and where it came from (Assistant.loadMedia). */
export interface LoadedMedia { media: Media; geometry: NonNullable<AnswerResult['media']>; image?: RGBImage }

export class Assistant {
  private constructor(readonly gpu: Gpu, readonly model: LlavaSt, readonly tokenizer: Qwen2Tokenizer) {}

  /**
   * Loads the model (weights streamed to the GPU) and the tokenizer from a checkpoint: a folder
   * path (Node) or a model source (a URL, files dropped in a page). `stages` replaces built-in
   * stages (model/stages.ts); `dtype` is the compute dtype (f32 default), `weights` the storage.
   */
  static async load(
    gpu: Gpu, from: string | ModelSource,
    opts: Omit<LoadOptions, 'onProgress'> & { onProgress?: ProgressFn; tokenizer?: Qwen2Tokenizer } = {},
  ): Promise<Assistant> {
    const { tokenizer: given, onProgress, ...rest } = opts;
    const tokenizer = given
      ?? (typeof from === 'string' ? await Qwen2Tokenizer.fromDirectory(from) : await Qwen2Tokenizer.fromSource(from));
    let loaded = 0;
    const model = await LlavaSt.load(gpu, from, {
      ...rest,
      onProgress: () => opts.onProgress?.('weights', ++loaded, 0),
    });
    return new Assistant(gpu, model, tokenizer);
  }

  /** Decodes and preprocesses media exactly as the reference's processor does. */
  async loadMedia(input: MediaInput, onProgress?: ProgressFn): Promise<LoadedMedia> {
    const { image_size: S } = this.model.config.vision;
    if (input.kind === 'image') {
      const image = input.file ? decodeImageBytes(new Uint8Array(await input.file.arrayBuffer()), input.path) : await decodeImage(input.path);
      const pixels = toPixelValues([resizeBicubic(image, S, S)], S);
      return { media: { kind: 'image', pixels, shape: [1, 3, S, S] }, image,
        geometry: { kind: 'image', path: input.path, width: image.width, height: image.height } };
    }
    const n = this.model.config.packer.frames;
    const sampling = {
      size: S, n, ...(input.split ? { split: input.split } : {}),
      ...(onProgress ? { onProgress: (d: number, t: number) => onProgress('frames', d, t) } : {}),
    };
    // Loaded on demand: the ffmpeg path is Node's, the WebCodecs path a page's.
    const v = input.file
      ? await (await import('../io/video_webcodecs.js')).sampleVideoWebCodecs(input.file, input.path, sampling)
      : await (await import('../io/video.js')).sampleVideo(input.path, sampling);
    return {
      media: { kind: 'video', pixels: v.frames, shape: [n, 3, S, S] },
      geometry: { kind: 'video', path: input.path, width: v.width, height: v.height, fps: v.fps, frameCount: v.frameCount,
        frameIndices: v.frameIndices, ...(v.frameTimes ? { frameTimes: v.frameTimes } : {}), rotation: v.rotation,
        split: input.split ?? [0, v.frameCount - 1] },
    };
  }

  async ask(opts: AskOptions): Promise<AnswerResult> {
    const { question, task } = this.questionOf(opts);
    const tapNames = checkTapNames(opts.taps ?? [], this.model.config);
    const t0 = performance.now();
    const prompt = buildPrompt(this.tokenizer, question, { modality: opts.media?.kind ?? 'text', ...(opts.rawTokens ? { rawTokens: true } : {}) });
    const maxNew = Math.min(opts.maxNewTokens ?? 1024, answerBudget(prompt.ids.length, this.model.config));
    const loaded = opts.media ? await this.loadMedia(opts.media, opts.onProgress) : undefined;
    await this.gpu.kernels.ready(); // pipelines built ahead (ops/warmup.ts), rather than built again here
    const taps = tapNames.length > 0 ? new Taps(tapNames) : undefined;
    try {
      return await this.generate(opts, question, task, prompt, maxNew, loaded, taps, t0);
    } finally {
      taps?.dispose();
      // The KV cache is sized for this question; between questions GPU memory holds the model alone.
      this.model.decoder.releaseCaches?.();
    }
  }

  /** The question to ask and the task it answers, from a free prompt or a task request. */
  private questionOf(opts: AskOptions): { question: string; task?: Task } {
    const req = typeof opts.task === 'object' ? opts.task : undefined;
    if (req && opts.question !== undefined) throw new InputError('ask: give a question or a task request, not both');
    const task = req ? req.task : opts.task as Task | undefined;
    if (task !== undefined && !(task in TASK_MODALITY)) throw new InputError(`ask: unknown task ${JSON.stringify(task)}; tasks: ${Object.keys(TASK_MODALITY).join(', ')}`);
    if (req && TASK_MODALITY[req.task] !== (opts.media?.kind ?? 'text')) {
      throw new InputError(`ask: task ${req.task} works on ${TASK_MODALITY[req.task] === 'video' ? 'a video' : 'an image'}; the media is ${opts.media?.kind ?? 'none'}`);
    }
    const question = req ? taskQuestion(req, opts.template) : opts.question ?? '';
    if (!question.trim()) throw new InputError('ask: the question is empty (give `question` or a task request)');
    return { question, ...(task ? { task } : {}) };
  }

  private async generate(
    opts: AskOptions, question: string, task: Task | undefined, prompt: ReturnType<typeof buildPrompt>, maxNew: number,
    loaded: LoadedMedia | undefined, taps: Taps | undefined, t0: number,
  ): Promise<AnswerResult> {
    const t1 = performance.now();
    opts.onProgress?.('prefill', 0, 1);
    let tFirst = 0;
    let shown = '';
    const eos = new Set(this.model.config.generation.eos_token_id);
    const ids: number[] = [];
    const result = await this.model.generate(
      { ids: prompt.ids, variables: prompt.variables, ...(loaded ? { media: loaded.media } : {}) },
      {
        maxNewTokens: maxNew,
        ...(opts.sampling ? { sampling: true } : {}),
        ...(taps ? { taps } : {}),
        onToken: (id, step) => {
          if (step === 0) { tFirst = performance.now(); opts.onProgress?.('prefill', 1, 1); }
          opts.onProgress?.('generate', step + 1, maxNew);
          if (eos.has(id)) return;
          ids.push(id);
          if (opts.onText) {
            const text = this.tokenizer.decode(ids);
            if (!text.endsWith('\uFFFD') && text.length > shown.length) { opts.onText(text.slice(shown.length)); shown = text; }
          }
        },
      },
    );
    const t2 = performance.now();
    const text = this.tokenizer.decode(ids).replaceAll('<|im_end|>', '');
    const steps = result.ids.length;
    const tapped: Partial<Record<TapName, TapValue>> = {};
    for (const name of taps?.names() ?? []) {
      tapped[name as TapName] = { shape: [...taps!.get(name).shape], data: await taps!.read(name) };
    }
    return {
      ...(task ? { task } : {}),
      question,
      promptTokens: prompt.ids.length,
      variables: prompt.variables,
      text,
      ids: result.ids,
      stopped: result.stopped,
      grounding: extractGrounding(text, task && isAnswerTask(task) ? task : undefined, loaded?.geometry),
      ...(loaded ? { media: loaded.geometry } : {}),
      timings: {
        mediaMs: t1 - t0,
        prefillMs: (tFirst || t2) - t1,
        decodeMs: tFirst ? t2 - tFirst : 0,
        tokensPerSecond: steps > 1 && tFirst ? (steps - 1) / ((t2 - tFirst) / 1000) : 0,
      },
      ...(taps ? { taps: tapped } : {}),
    };
  }


  dispose(): void {
    this.model.dispose();
  }
}

/** The one JSON record of an answer, as `run --json` prints it and the page shows it in #result. */
export function answerRecord(r: AnswerResult, meta: { task?: string | undefined; model: string; dtype: string }): Record<string, unknown> {
  return { task: meta.task ?? 'free', model: meta.model, dtype: meta.dtype, ...r };
}
