// Pictures of an answer: boxes drawn on the frames and the predicted span as a timeline, written
// as a PNG (an image, or a contact sheet of sampled video frames) or an animated GIF (a video).
// Encoders: pngjs and gifenc (npm), both pure JS.
import pngjs from 'pngjs';
import gifenc from 'gifenc';

const { GIFEncoder, quantize, applyPalette } = gifenc; // CommonJS package: no named ESM exports

export interface RgbImage { width: number; height: number; data: Uint8Array } // RGB, 3 bytes a pixel
/** A box in normalized [0, 1] image coordinates: x1, y1, x2, y2. */
export type NormBox = readonly [number, number, number, number];

export interface VizFrame {
  image: RgbImage;
  /** Position of the frame in the sampled clip, 0..1 (its <TEMP-k> value k/99). */
  t: number;
  boxes: NormBox[];
  label?: string;
}

const COLORS: [number, number, number][] = [[255, 40, 40], [40, 200, 255], [255, 210, 0], [120, 255, 80]];

/** Nearest-neighbour upscale so that small frames (e.g. 160×120) stay readable. */
function upscale(img: RgbImage, factor: number): RgbImage {
  if (factor <= 1) return img;
  const width = img.width * factor, height = img.height * factor;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / factor) * img.width + Math.floor(x / factor)) * 3, d = (y * width + x) * 3;
      data[d] = img.data[s]!; data[d + 1] = img.data[s + 1]!; data[d + 2] = img.data[s + 2]!;
    }
  }
  return { width, height, data };
}

function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: readonly number[]): void {
  const xa = Math.max(0, Math.floor(Math.min(x0, x1))), xb = Math.min(img.width, Math.ceil(Math.max(x0, x1)));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1))), yb = Math.min(img.height, Math.ceil(Math.max(y0, y1)));
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) img.data.set(c, (y * img.width + x) * 3);
}

/** Draws a box outline; a box with x1 > x2 or y1 > y2 (the model can emit those) is drawn as its span. */
export function drawBox(img: RgbImage, box: NormBox, color: readonly number[], thickness = 2): void {
  const [x1, y1, x2, y2] = [box[0] * img.width, box[1] * img.height, box[2] * img.width, box[3] * img.height];
  const [l, r, t, b] = [Math.min(x1, x2), Math.max(x1, x2), Math.min(y1, y2), Math.max(y1, y2)];
  fillRect(img, l, t, r, t + thickness, color);
  fillRect(img, l, b - thickness, r, b, color);
  fillRect(img, l, t, l + thickness, b, color);
  fillRect(img, r - thickness, t, r, b, color);
}

/** A timeline strip under the frame: the span in colour, the frame's own position as a white tick. */
function withTimeline(img: RgbImage, span: readonly [number, number] | undefined, t: number): RgbImage {
  const bar = Math.max(8, Math.round(img.height / 16));
  const out: RgbImage = { width: img.width, height: img.height + bar, data: new Uint8Array(img.width * (img.height + bar) * 3) };
  out.data.set(img.data);
  fillRect(out, 0, img.height, img.width, out.height, [40, 40, 40]);
  if (span) fillRect(out, span[0] * (img.width - 1), img.height + 2, span[1] * (img.width - 1) + 1, out.height - 2, [255, 140, 0]);
  const x = t * (img.width - 1);
  fillRect(out, x - 1, img.height, x + 2, out.height, [255, 255, 255]);
  return out;
}

function decorate(f: VizFrame, span: readonly [number, number] | undefined, scale: number, timeline: boolean): RgbImage {
  const img = upscale(f.image, scale);
  const copy: RgbImage = { ...img, data: img === f.image ? img.data.slice() : img.data };
  f.boxes.forEach((b, i) => drawBox(copy, b, COLORS[i % COLORS.length]!, Math.max(2, scale)));
  return timeline ? withTimeline(copy, span, f.t) : copy;
}

function toRgba(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height * 4);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    out[j] = img.data[i]!; out[j + 1] = img.data[i + 1]!; out[j + 2] = img.data[i + 2]!; out[j + 3] = 255;
  }
  return out;
}

function scaleFor(img: RgbImage): number {
  return Math.max(1, Math.floor(320 / Math.max(img.width, 1)));
}

export function encodePng(img: RgbImage): Uint8Array {
  const png = new pngjs.PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(toRgba(img));
  return pngjs.PNG.sync.write(png);
}

/** One picture: a single frame, or a grid of frames (contact sheet) with the span under each. */
export function renderPng(frames: VizFrame[], span?: readonly [number, number], columns = 5): Uint8Array {
  if (frames.length === 0) throw new RangeError('renderPng: no frames');
  const scale = scaleFor(frames[0]!.image);
  const tiles = frames.map((f) => decorate(f, span, scale, frames.length > 1 || span !== undefined));
  if (tiles.length === 1) return encodePng(tiles[0]!);
  const cols = Math.min(columns, tiles.length), rows = Math.ceil(tiles.length / cols);
  const tw = tiles[0]!.width, th = tiles[0]!.height, gap = 4;
  const sheet: RgbImage = { width: cols * tw + (cols - 1) * gap, height: rows * th + (rows - 1) * gap, data: new Uint8Array(0) };
  sheet.data = new Uint8Array(sheet.width * sheet.height * 3).fill(255);
  tiles.forEach((tile, i) => {
    const ox = (i % cols) * (tw + gap), oy = Math.floor(i / cols) * (th + gap);
    for (let y = 0; y < th; y++) sheet.data.set(tile.data.subarray(y * tw * 3, (y + 1) * tw * 3), ((oy + y) * sheet.width + ox) * 3);
  });
  return encodePng(sheet);
}

/** An animated GIF of the frames (e.g. the 100 sampled frames) with boxes and the span timeline. */
export function renderGif(frames: VizFrame[], span?: readonly [number, number], delayMs = 100): Uint8Array {
  if (frames.length === 0) throw new RangeError('renderGif: no frames');
  const scale = scaleFor(frames[0]!.image);
  const gif = GIFEncoder();
  for (const f of frames) {
    const img = decorate(f, span, scale, true);
    const rgba = toRgba(img);
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), img.width, img.height, { palette, delay: delayMs });
  }
  gif.finish();
  return gif.bytes();
}
