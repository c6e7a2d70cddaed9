// What `run` (and `eval`) check before the GPU device starts, which takes seconds to minutes:
// the checkpoint folder (config, tokenizer, weight headers and names) and the media files.
// Everything here reads headers or small files; nothing is decoded in full but an image.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Checkpoint } from '../core/checkpoint.js';
import { InputError } from '../core/errors.js';
import { decodeImage } from '../io/image.js';
import { Qwen2Tokenizer } from '../io/tokenizer.js';
import { checkSplit } from '../io/frames.js';
import { probeVideo } from '../io/video.js';
import { loadConfig, type LlavaStConfig } from '../model/config.js';
import { checkWeights, packerEmbedDimOf } from '../model/weight_names.js';
import type { MediaInput } from '../tasks/assistant.js';
import { inputFile } from './args.js';
import { expectedTensorsFromFiles } from './inspect.js';

export interface CheckedModel { config: LlavaStConfig; tokenizer: Qwen2Tokenizer }

/** A checkpoint folder: config.json, the weights' headers and names against it, the tokenizer. */
export async function checkModelDir(dir: string, flag = 'model'): Promise<CheckedModel> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputError(`--${flag} ${dir}: not a folder (a LLaVA-ST checkpoint folder is needed)`);
  if (!(await stat(join(dir, 'config.json')).catch(() => undefined))?.isFile()) {
    throw new InputError(`--${flag} ${dir}: no config.json there (a LLaVA-ST checkpoint folder is needed)`);
  }
  const ckpt = await Checkpoint.open(dir);
  let config: LlavaStConfig;
  try {
    const shapes = new Map([...ckpt.entries].map(([n, e]) => [n, e.shape]));
    config = await loadConfig(dir, packerEmbedDimOf(shapes));
    const check = checkWeights(shapes, await expectedTensorsFromFiles(join(dir, 'config.json'), shapes));
    const bad = [
      ...check.missing.map((n) => `${n} is missing`),
      ...check.mismatched.map((m) => `${m.name} is [${m.actual.join(', ')}], config.json needs [${m.expected.join(', ')}]`),
    ];
    if (bad.length > 0) {
      throw new InputError(`--${flag} ${dir}: ${bad.length} weight(s) do not fit config.json, first: ${bad[0]} ` +
        `(\`llava-st inspect ${dir}\` lists them)`);
    }
  } finally {
    await ckpt.close();
  }
  return { config, tokenizer: await Qwen2Tokenizer.fromDirectory(dir) };
}

/** The media file: readable, and a video the decoder can index (split included) or an image. */
export async function checkMedia(media: MediaInput): Promise<void> {
  await inputFile(media.kind, media.path);
  if (media.kind === 'image') {
    await decodeImage(media.path);
  } else {
    checkSplit(media.path, (await probeVideo(media.path)).frameCount, media.split);
  }
}
