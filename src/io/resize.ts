// Pillow-exact bicubic resize of 8-bit RGB (architecture.md §3.1).
//
// Reproduces Pillow 9.4/10's ImagingResample (libImaging/Resample.c) for 8 bits per channel:
// separable, horizontal pass first then vertical, each pass rounding and clamping to u8; weights in
// float64, normalised, then converted to 22-bit fixed point. A pass runs only when its axis changes
// size, as in Pillow. Every arithmetic step below follows the C code's order, because a different
// float order can flip a fixed-point rounding and move a pixel by one.

import { InputError } from '../core/errors.js';
import type { RGBImage } from './image.js';

/** Pillow's PRECISION_BITS for 8-bit resampling: 32 − 8 − 2. */
const PRECISION_BITS = 22;
/** Support of Pillow's bicubic filter at scale 1. */
const BICUBIC_SUPPORT = 2;

/** Pillow's bicubic kernel with a = −0.5 (Keys), in the C code's operation order. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Fixed-point taps of one axis: output o reads `count[o]` inputs from `first[o]`, weights `k[o·ksize + j]`. */
export interface AxisCoeffs {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  k: Int32Array;
}

/** precompute_coeffs + normalize_coeffs_8bpc for one axis, box = whole input. */
export function precomputeCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterscale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts with (int), which truncates; negatives are clamped to 0 right after, so trunc is safe.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const wn = ww !== 0 ? w[x]! / ww : w[x]!;
      // (int)(±0.5 + w·2^22): round half away from zero, truncating like C.
      k[xx * ksize + x] = Math.trunc((wn < 0 ? -0.5 : 0.5) + wn * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, k };
}

/**
 * One 1-D pass over RGB u8 data (ResampleHorizontal_8bpc / ResampleVertical_8bpc in one function).
 * `lines` independent lines are resampled; line l starts at l·lineIn in `src` and l·lineOut in `dst`;
 * along the line, input taps are `tapIn` bytes apart and outputs `tapOut` bytes apart.
 */
function resamplePass(
  src: Uint8Array, dst: Uint8Array, c: AxisCoeffs,
  lines: number, lineIn: number, lineOut: number, tapIn: number, tapOut: number,
): void {
  const half = 1 << (PRECISION_BITS - 1);
  const outSize = c.first.length;
  for (let l = 0; l < lines; l++) {
    for (let o = 0; o < outSize; o++) {
      const base = l * lineIn + c.first[o]! * tapIn;
      const kBase = o * c.ksize;
      const n = c.count[o]!;
      let s0 = half, s1 = half, s2 = half;
      for (let x = 0; x < n; x++) {
        const kx = c.k[kBase + x]!;
        const p = base + x * tapIn;
        s0 += src[p]! * kx;
        s1 += src[p + 1]! * kx;
        s2 += src[p + 2]! * kx;
      }
      // The sums fit in int32 (|Σk| < 2^23 · 255), so >> is Pillow's arithmetic shift; clip8 clamps.
      const q = l * lineOut + o * tapOut;
      dst[q] = clip8(s0 >> PRECISION_BITS);
      dst[q + 1] = clip8(s1 >> PRECISION_BITS);
      dst[q + 2] = clip8(s2 >> PRECISION_BITS);
    }
  }
}

function clip8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new InputError(`resizeBicubic: ${name} must be a positive integer, got ${v}`);
  }
}

/** Pillow's `Image.resize((outW, outH), BICUBIC)` on an RGB image, bit-exact. */
export function resizeBicubic(src: RGBImage, outW: number, outH: number): RGBImage {
  checkSize('source width', src.width);
  checkSize('source height', src.height);
  checkSize('output width', outW);
  checkSize('output height', outH);
  if (src.data.length !== src.width * src.height * 3) {
    throw new InputError(
      `resizeBicubic: source data has ${src.data.length} bytes, expected ${src.width}×${src.height}×3`);
  }
  let cur = src;
  if (outW !== cur.width) {
    const c = precomputeCoeffs(cur.width, outW);
    const data = new Uint8Array(outW * cur.height * 3);
    // Lines are rows; taps walk along a row.
    resamplePass(cur.data, data, c, cur.height, cur.width * 3, outW * 3, 3, 3);
    cur = { width: outW, height: cur.height, data };
  }
  if (outH !== cur.height) {
    const c = precomputeCoeffs(cur.height, outH);
    const data = new Uint8Array(cur.width * outH * 3);
    // Lines are columns; taps walk down a column.
    resamplePass(cur.data, data, c, cur.width, 3, 3, cur.width * 3, cur.width * 3);
    cur = { width: cur.width, height: outH, data };
  }
  return cur === src ? { width: src.width, height: src.height, data: src.data.slice() } : cur;
}
