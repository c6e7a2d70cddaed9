// Still-image decoding to RGB u8, matching PIL's `Image.open(path).convert('RGB')` (architecture.md §3.1).
//
// PNG (pngjs) is exact for every colour type and bit depth: PIL drops alpha (no compositing), ignores
// tRNS and gAMA, takes the high byte of 16-bit RGB/RGBA/LA samples, and clamps 16-bit greyscale to 255
// (it opens it as mode "I" and i2rgb clips instead of scaling). JPEG (jpeg-js) is not bit-exact with
// PIL's libjpeg: jpeg-js upsamples chroma by nearest neighbour and converts colour in floating point,
// so values can differ by ±1 LSB, and by more at chroma edges of 4:2:0 files. Like PIL's open(), no
// EXIF orientation is applied.

import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
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

/** Metadata pngjs returns next to `data` but does not declare in its types. */
interface PngMeta {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  transColor?: number[];
  data: Uint8Array | Uint16Array;
}

/** PNG bytes to RGB the way PIL's PngImagePlugin + convert('RGB') does. */
function decodePng(bytes: Uint8Array, name: string): RGBImage {
  let png: PngMeta;
  try {
    // skipRescale: pngjs would round v·255/65535 for 16-bit, PIL keeps the high byte (or clamps).
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { skipRescale: true }) as unknown as PngMeta;
  } catch (e) {
    throw new InputError(`${name}: corrupt or unsupported PNG (${(e as Error).message})`, { cause: e });
  }
  const { width, height, depth, colorType, transColor, data } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const isPalette = colorType === 3;
  // pngjs zeroes all four channels of pixels equal to the tRNS colour; PIL keeps the colour.
  const restoreTrns = !isPalette && transColor !== undefined;
  const maxRaw = (1 << (isPalette ? 8 : depth)) - 1;
  const toU8 = (v: number): number => {
    if (isPalette || depth === 8) return v;
    if (depth === 16) return colorType === 0 ? Math.min(v, 255) : v >> 8;
    return (v * 255) / maxRaw; // 1, 2, 4-bit grey: ×255, ×85, ×17, always an integer
  };
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = data[i * 4 + c]!;
      if (restoreTrns && data[i * 4 + 3] === 0) v = transColor![transColor!.length === 1 ? 0 : c]!;
      out[i * 3 + c] = toU8(v);
    }
  }
  return { width, height, data: out };
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
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { cause: e });
  }
  return decodeImageBytes(bytes, path);
}
