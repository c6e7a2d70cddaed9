// Still-image decoding to RGB u8, matching PIL's `Image.open(path).convert('RGB')` (architecture.md §3.1).
//
// PNG (fast-png) is exact for every colour type and bit depth: PIL drops alpha (no compositing), ignores
// tRNS and gAMA, takes the high byte of 16-bit RGB/RGBA/LA samples, and clamps 16-bit greyscale to 255
// (it opens it as mode "I" and i2rgb clips instead of scaling). JPEG (jpeg-js) is not bit-exact with
// PIL's libjpeg: jpeg-js upsamples chroma by nearest neighbour and converts colour in floating point,
// so values can differ by ±1 LSB, and by more at chroma edges of 4:2:0 files. Like PIL's open(), no
// EXIF orientation is applied.

import { decode as decodePngData, type DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { InputError } from '../core/errors.js';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B. */
export interface RGBImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * PNG bytes to RGB the way PIL's PngImagePlugin + convert('RGB') does. fast-png (pure JS, no Node
 * APIs) decodes, so a page and Node run this same function and get the same bytes. PIL drops alpha
 * and ignores tRNS; 16-bit samples keep their high byte, except 16-bit grey (no alpha), which PIL clamps;
 * 1, 2 and 4-bit grey scale by 255, 85 and 17; palettes expand through their RGB entries.
 */
function decodePng(bytes: Uint8Array, name: string): RGBImage {
  let png: DecodedPng;
  try {
    png = decodePngData(withoutTrns(bytes), { checkCrc: true });
  } catch (e) {
    throw new InputError(`${name}: corrupt or unsupported PNG (${(e as Error).message})`, { cause: e });
  }
  const { width, height, depth, channels, data, palette } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  // Samples below 8 bits stay packed, each row starting on a byte.
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  const sample = depth >= 8
    ? (i: number, c: number): number => data[i * channels + c]!
    : (i: number): number => {
      const y = Math.floor(i / width), x = i - y * width;
      const byte = data[y * rowBytes + Math.floor(x / perByte)]!;
      return (byte >> (8 - depth * (1 + (x % perByte)))) & mask;
    };
  const color = channels >= 3;
  const toU8 = (v: number): number => {
    if (depth === 8) return v;
    if (depth === 16) return channels === 1 ? Math.min(v, 255) : v >> 8;
    return (v * 255) / mask; // 1, 2, 4-bit grey: ×255, ×85, ×17, always an integer
  };
  for (let i = 0; i < n; i++) {
    if (palette !== undefined) {
      const entry = palette[sample(i, 0)];
      if (entry === undefined) throw new InputError(`${name}: corrupt PNG (pixel ${i} uses palette index ${sample(i, 0)} of ${palette.length})`);
      out[i * 3] = entry[0]!; out[i * 3 + 1] = entry[1]!; out[i * 3 + 2] = entry[2]!;
      continue;
    }
    for (let c = 0; c < 3; c++) out[i * 3 + c] = toU8(sample(i, color ? c : 0));
  }
  return { width, height, data: out };
}

/**
 * The PNG without its tRNS chunks: PIL's convert('RGB') ignores transparency, and fast-png 8 rejects
 * valid truecolour tRNS chunks of images under 3 pixels (it counts them as per-pixel alphas).
 * Malformed chunk framing is left as it is, for the decoder to report.
 */
function withoutTrns(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: [number, number][] = [];
  let at = PNG_MAGIC.length, from = 0;
  while (at + 12 <= bytes.length) {
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) return bytes;
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'tRNS') { keep.push([from, at]); from = end; }
    at = end;
  }
  if (keep.length === 0) return bytes;
  keep.push([from, bytes.length]);
  const out = new Uint8Array(keep.reduce((n, [a, b]) => n + b - a, 0));
  let o = 0;
  for (const [a, b] of keep) { out.set(bytes.subarray(a, b), o); o += b - a; }
  return out;
}

function decodeJpeg(bytes: Uint8Array, name: string): RGBImage {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) {
      throw new Error(`decoded ${img.width}×${img.height} with ${img.data.length} bytes`);
    }
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    throw new InputError(`${name}: corrupt or unsupported JPEG (${(e as Error).message})`, { cause: e });
  }
}

/** Decodes PNG or JPEG bytes (sniffed from the content, not the name) to RGB u8. */
export function decodeImageBytes(bytes: Uint8Array, name: string): RGBImage {
  if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes, name);
  if (startsWith(bytes, JPEG_MAGIC)) return decodeJpeg(bytes, name);
  throw new InputError(`${name}: not a PNG or JPEG image`);
}

/** Reads and decodes an image file like PIL's `Image.open(path).convert('RGB')`. */
export async function decodeImage(path: string): Promise<RGBImage> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { cause: e });
  }
  return decodeImageBytes(bytes, path);
}
