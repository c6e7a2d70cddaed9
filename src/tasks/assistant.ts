// From a video or image file and a question to a grounded answer: the whole pipeline in one place.
//   media file -> io (decode, sample 100 frames, Pillow-exact resize, normalize)
//   question   -> tasks/prompt (ChatML, media placeholders, coordinate placeholders + values)
//   both       -> model (vision, projector, LAPE, packer, splice, Qwen2 prefill, greedy decode)
//   ids        -> tokenizer decode -> grounding (spans, boxes; frames, seconds, pixels)
import type { Gpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { decodeImage, type RGBImage } from '../io/image.js';
import { resizeBicubic } from '../io/resize.js';
import { toPixelValues } from '../io/pixels.js';
import { sampleVideo } from '../io/video.js';
import { Qwen2Tokenizer } from '../io/tokenizer.js';
import { LlavaSt, type Media, type Variables } from '../model/llava_st.js';
import type { ComputeDType } from '../nn/weights.js';
import type { WeightLayout } from '../nn/weight_format.js';
import { buildPrompt, type PromptVariables } from './prompt.js';
import { extractGrounding, type Grounding, type MediaGeometry } from './grounding.js';
import type { AnswerTask } from './coordinates.js';

export type MediaInput =
  | { kind: 'video'; path: string; split?: [number, number] }
  | { kind: 'image'; path: string };

/** Progress of a long step: weights, frames, generation. */
export type ProgressFn = (stage: 'weights' | 'frames' | 'generate', done: number, total: number) => void;

export interface AskOptions {
  media?: MediaInput;
  /** The question in the demo syntax (<t0.4>, <w0.5>, <h0.6> inline); the media tag is added. */
  question: string;
  /** The task whose answer shape is checked strictly (tvg, stvg, svg, rec, elc); none for free-form. */
  task?: AnswerTask;
  maxNewTokens?: number;
  /** Streams the answer text as it grows. */
  onText?: (delta: string) => void;
  onProgress?: ProgressFn;
  /** Sample with generation_config.json's knobs instead of greedy decoding. */
  sampling?: boolean;
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

export interface AnswerResult {
  question: string;
  promptTokens: number;
  variables: PromptVariables;
  /** The answer as the model wrote it, <|im_end|> removed. */
  text: string;
  ids: number[];
  stopped: 'eos' | 'length';
  grounding: Grounding;
  media?: MediaGeometry & { kind: 'video' | 'image'; path: string; frameCount?: number; split?: [number, number] };
  timings: Timings;
}

function toModelVariables(v: PromptVariables): Variables {
  return {
    temporal_input_locations: v.temporal, temporal_output_locations: v.temporalOutput,
    spatial_height_input_locations: v.height, spatial_height_output_locations: v.heightOutput,
    spatial_width_input_locations: v.width, spatial_width_output_locations: v.widthOutput,
  };
}

interface LoadedMedia { media: Media; geometry: NonNullable<AnswerResult['media']>; image?: RGBImage }

export class Assistant {
  private constructor(readonly gpu: Gpu, readonly model: LlavaSt, readonly tokenizer: Qwen2Tokenizer) {}

  /** Loads the model (weights streamed to the GPU) and the tokenizer from a checkpoint folder. */
  static async load(gpu: Gpu, dir: string, opts: { dtype?: ComputeDType; weights?: Omit<WeightLayout, 'compute'>; onProgress?: ProgressFn } = {}): Promise<Assistant> {
    const tokenizer = await Qwen2Tokenizer.fromDirectory(dir);
    let loaded = 0;
    const model = await LlavaSt.load(gpu, dir, {
      ...(opts.dtype ? { dtype: opts.dtype } : {}),
      ...(opts.weights ? { weights: opts.weights } : {}),
      onProgress: () => opts.onProgress?.('weights', ++loaded, 0),
    });
    return new Assistant(gpu, model, tokenizer);
  }

  /** Decodes and preprocesses media exactly as the reference's processor does. */
  async loadMedia(input: MediaInput, onProgress?: ProgressFn): Promise<LoadedMedia> {
    const { image_size: S } = this.model.config.vision;
    if (input.kind === 'image') {
      const image = await decodeImage(input.path);
      const pixels = toPixelValues([resizeBicubic(image, S, S)], S);
      return { media: { kind: 'image', pixels, shape: [1, 3, S, S] }, image,
        geometry: { kind: 'image', path: input.path, width: image.width, height: image.height } };
    }
    const n = this.model.config.packer.frames;
    const v = await sampleVideo(input.path, {
      size: S, n, ...(input.split ? { split: input.split } : {}),
      ...(onProgress ? { onProgress: (d: number, t: number) => onProgress('frames', d, t) } : {}),
    });
    return {
      media: { kind: 'video', pixels: v.frames, shape: [n, 3, S, S] },
      geometry: { kind: 'video', path: input.path, width: v.width, height: v.height, fps: v.fps, frameCount: v.frameCount,
        frameIndices: v.frameIndices, split: input.split ?? [0, v.frameCount - 1] },
    };
  }

  async ask(opts: AskOptions): Promise<AnswerResult> {
    if (!opts.question.trim()) throw new InputError('the question is empty');
    const t0 = performance.now();
    const loaded = opts.media ? await this.loadMedia(opts.media, opts.onProgress) : undefined;
    const prompt = buildPrompt(this.tokenizer, opts.question, { modality: opts.media?.kind ?? 'text' });
    const t1 = performance.now();
    let tFirst = 0;
    let shown = '';
    const maxNew = opts.maxNewTokens ?? 1024;
    const eos = new Set(this.model.config.generation.eos_token_id);
    const ids: number[] = [];
    const result = await this.model.generate(
      { ids: prompt.ids, variables: toModelVariables(prompt.variables), ...(loaded ? { media: loaded.media } : {}) },
      {
        maxNewTokens: maxNew,
        ...(opts.sampling ? { sampling: true } : {}),
        onToken: (id, step) => {
          if (step === 0) tFirst = performance.now();
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
    return {
      question: opts.question,
      promptTokens: prompt.ids.length,
      variables: prompt.variables,
      text,
      ids: result.ids,
      stopped: result.stopped,
      grounding: extractGrounding(text, opts.task, loaded?.geometry),
      ...(loaded ? { media: loaded.geometry } : {}),
      timings: {
        mediaMs: t1 - t0,
        prefillMs: (tFirst || t2) - t1,
        decodeMs: tFirst ? t2 - tFirst : 0,
        tokensPerSecond: steps > 1 && tFirst ? (steps - 1) / ((t2 - tFirst) / 1000) : 0,
      },
    };
  }

  dispose(): void {
    this.model.dispose();
  }
}
