// The model's video input filled as decoded frames arrive: the n sampled frame numbers (io/sampling),
// each decoded frame resized (Pillow-exact bicubic) and normalised into its slots of [n, 3, S, S].
// Shared by the ffmpeg path (Node) and the WebCodecs path (pages), so both sample and preprocess
// with the same code and differ only in who decodes.

import { InputError } from '../core/errors.js';
import type { RGBImage } from './image.js';
import { resizeBicubic } from './resize.js';
import { writePixelValues } from './pixels.js';
import { sampleFrameIndices } from './sampling.js';

export class SampledFrames {
  /** [n, 3, S, S] normalised pixel values. */
  readonly frames: Float32Array;
  /** The frame number of each of the n slots (non-decreasing: short clips repeat frames). */
  readonly frameIndices: number[];
  /** The distinct frame numbers to decode, ascending. */
  readonly wanted: number[];
  private slot = 0;

  /** `split`: the inclusive frame range; `size`: S; `n`: slots (the model needs 100). */
  constructor(split: [number, number], readonly size: number, readonly n: number, label: string) {
    if (!Number.isSafeInteger(size) || size < 1) throw new InputError(`${label}: size must be a positive integer, got ${size}`);
    if (!Number.isSafeInteger(n) || n < 2) throw new InputError(`${label}: n must be an integer >= 2, got ${n}`);
    this.frameIndices = sampleFrameIndices(split[0], split[1], n);
    this.wanted = [...new Set(this.frameIndices)]; // indices are non-decreasing, so this stays sorted
    this.frames = new Float32Array(n * 3 * size * size);
  }

  /** Slots filled so far. */
  get filled(): number { return this.slot; }

  /** The next wanted frame, decoded (frames must arrive in the order of `wanted`); returns slots filled. */
  put(frameIndex: number, rgb: RGBImage): number {
    if (this.frameIndices[this.slot] !== frameIndex) {
      throw new InputError(`frame ${frameIndex} arrived where frame ${this.frameIndices[this.slot]} was expected`);
    }
    const plane = 3 * this.size * this.size;
    const first = this.slot;
    writePixelValues(resizeBicubic(rgb, this.size, this.size), this.size, this.frames, first);
    for (this.slot++; this.slot < this.n && this.frameIndices[this.slot] === frameIndex; this.slot++) {
      this.frames.copyWithin(this.slot * plane, first * plane, (first + 1) * plane);
    }
    return this.slot;
  }
}

/** The inclusive frame range checked against a video's frame count (default: the whole video). */
export function checkSplit(label: string, frameCount: number, split?: [number, number]): [number, number] {
  const [s0, s1] = split ?? [0, frameCount - 1];
  if (!Number.isSafeInteger(s0) || !Number.isSafeInteger(s1) || s0 < 0 || s1 < s0 || s1 > frameCount - 1) {
    throw new InputError(`${label}: split [${s0}, ${s1}] must be integers with 0 <= s0 <= s1 <= ${frameCount - 1} ` +
      `(the video has ${frameCount} frames)`);
  }
  return [s0, s1];
}
