// RGB u8 frames to the vision tower's input: [T, 3, S, S] float32 in [−1, 1] (architecture.md §3.1).
//
// The reference (transformers' SigLipImageProcessor) rescales in float64 (u8 × (1/255)), stores float32,
// then normalises in float32: (x − 0.5) / 0.5. Only 256 inputs exist, so a table built with that exact
// rounding sequence gives bit-exact values.

import { ShapeError } from '../core/errors.js';
import type { RGBImage } from './image.js';

const SCALE = 1 / 255;

/** PIXEL_LUT[u] = float32((float32(u · (1/255)) − 0.5) / 0.5). */
const PIXEL_LUT: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let u = 0; u < 256; u++) {
    const rescaled = Math.fround(u * SCALE);
    lut[u] = Math.fround(Math.fround(rescaled - 0.5) / 0.5);
  }
  return lut;
})();

/** Writes one S×S RGB frame as channel planes into `out` at frame slot `t` ([T, 3, S, S] layout). */
export function writePixelValues(frame: RGBImage, size: number, out: Float32Array, t: number): void {
  if (frame.width !== size || frame.height !== size || frame.data.length !== size * size * 3) {
    throw new ShapeError(`toPixelValues: frame ${t} is ${frame.width}×${frame.height}, expected ${size}×${size}`);
  }
  const plane = size * size;
  const base = t * 3 * plane;
  if (base + 3 * plane > out.length) {
    throw new ShapeError(`toPixelValues: frame slot ${t} is outside an output of ${out.length} values`);
  }
  const src = frame.data;
  for (let i = 0; i < plane; i++) {
    out[base + i] = PIXEL_LUT[src[i * 3]!]!;
    out[base + plane + i] = PIXEL_LUT[src[i * 3 + 1]!]!;
    out[base + 2 * plane + i] = PIXEL_LUT[src[i * 3 + 2]!]!;
  }
}

/** Normalised pixel values of T frames, all S×S: Float32Array laid out [T, 3, S, S]. */
export function toPixelValues(frames: readonly RGBImage[], size: number): Float32Array {
  const out = new Float32Array(frames.length * 3 * size * size);
  frames.forEach((f, t) => writePixelValues(f, size, out, t));
  return out;
}
