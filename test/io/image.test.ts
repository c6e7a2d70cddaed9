// PNG/JPEG decoding to RGB the way PIL's Image.open(path).convert('RGB') does.
// PNGs of every colour type and bit depth are written by a minimal encoder below, so the expected RGB
// follows from PIL's rules alone: alpha and tRNS dropped (never composited), 16-bit samples keep their
// high byte except 16-bit grey, which PIL opens as mode "I" and clamps to 255; 1/2/4-bit grey scale
// by 255/85/17; palettes look up PLTE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { decodeImage, decodeImageBytes } from '../../src/io/image.js';
import { resizeBicubic } from '../../src/io/resize.js';
import { toPixelValues } from '../../src/io/pixels.js';
import { InputError } from '../../src/core/errors.js';

const SAMPLES = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'models', 'llava-st-synth', 'samples');
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;

// --- minimal PNG encoder (filter 0, no interlace) ---------------------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
interface PngSpec { w: number; h: number; colorType: number; depth: number; samples: number[]; plte?: number[]; trns?: number[] }
function encodePng(s: PngSpec): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.w, 0); ihdr.writeUInt32BE(s.h, 4);
  ihdr[8] = s.depth; ihdr[9] = s.colorType;
  const perRow = s.w * CHANNELS[s.colorType]!;
  const rowBytes = Math.ceil((perRow * s.depth) / 8);
  const raw = Buffer.alloc(s.h * (rowBytes + 1));
  for (let y = 0; y < s.h; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1);
    for (let i = 0; i < perRow; i++) {
      const v = s.samples[y * perRow + i]!;
      if (s.depth === 16) row.writeUInt16BE(v, i * 2);
      else if (s.depth === 8) row[i] = v;
      else row[(i * s.depth) >> 3]! |= v << (8 - s.depth - ((i * s.depth) & 7));
    }
  }
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (s.plte) parts.push(chunk('PLTE', Uint8Array.from(s.plte)));
  if (s.trns) {
    const t = s.colorType === 3 ? Uint8Array.from(s.trns) : Buffer.alloc(s.trns.length * 2);
    if (s.colorType !== 3) s.trns.forEach((v, i) => (t as Buffer).writeUInt16BE(v, i * 2));
    parts.push(chunk('tRNS', t));
  }
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** PIL's convert('RGB') of one pixel's raw samples. */
function pilRgb(s: PngSpec, px: number[]): number[] {
  if (s.colorType === 3) return s.plte!.slice(px[0]! * 3, px[0]! * 3 + 3);
  const u8 = (v: number): number => s.depth === 16 ? (s.colorType === 0 ? Math.min(v, 255) : v >> 8)
    : (v * 255) / ((1 << s.depth) - 1);
  const c = s.colorType === 2 || s.colorType === 6 ? px.slice(0, 3) : [px[0]!, px[0]!, px[0]!];
  return c.map(u8);
}

const COMBOS: [number, number][] = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [2, 8], [2, 16], [3, 1], [3, 2], [3, 4],
  [3, 8], [4, 8], [4, 16], [6, 8], [6, 16]];

test('PNG: every colour type and bit depth decodes like PIL convert("RGB"), with and without tRNS', () => {
  const arb = fc.record({
    combo: fc.constantFrom(...COMBOS), w: fc.integer({ min: 1, max: 9 }), h: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }), withTrns: fc.boolean(),
  });
  fc.assert(fc.property(arb, ({ combo: [colorType, depth], w, h, seed, withTrns }) => {
    let r = seed;
    const rnd = (m: number): number => { r = (Math.imul(r, 1103515245) + 12345) >>> 0; return (r >>> 8) % m; };
    const max = colorType === 3 ? 1 << depth : 2 ** depth;
    const n = w * h * CHANNELS[colorType]!;
    // Small 16-bit values too, so the grey clamp and high byte both matter.
    const samples = Array.from({ length: n }, () => (depth === 16 && rnd(2) ? rnd(300) : rnd(max)));
    const spec: PngSpec = { w, h, colorType, depth, samples };
    if (colorType === 3) spec.plte = Array.from({ length: 3 * (1 << depth) }, () => rnd(256));
    if (withTrns && colorType === 3) spec.trns = [0, 128];
    // tRNS equal to the first pixel, so pngjs's zeroing of that colour would show.
    if (withTrns && (colorType === 0 || colorType === 2)) spec.trns = samples.slice(0, CHANNELS[colorType]);
    const img = decodeImageBytes(encodePng(spec), 'gen.png');
    assert.deepEqual([img.width, img.height], [w, h]);
    const ch = CHANNELS[colorType]!;
    const want: number[] = [];
    for (let i = 0; i < w * h; i++) want.push(...pilRgb(spec, samples.slice(i * ch, i * ch + ch)));
    assert.deepEqual([...img.data], want);
  }), { numRuns: 300 });
});

test('PNG: alpha is dropped, not composited (RGBA with alpha 0 keeps its colour)', () => {
  const png = encodePng({ w: 2, h: 1, colorType: 6, depth: 8, samples: [200, 100, 50, 0, 1, 2, 3, 255] });
  assert.deepEqual([...decodeImageBytes(png, 'a.png').data], [200, 100, 50, 1, 2, 3]);
});

test('REC sample still: decode + resize 110 + normalise matches samples.json pixel mean', async () => {
  const meta = JSON.parse(readFileSync(join(SAMPLES, 'samples.json'), 'utf8')) as
    { media: string; modality: string; media_size: [number, number]; pixel_values_frame_means: number[] }[];
  const stills = meta.filter((m) => m.modality === 'image');
  assert.ok(stills.length >= 2);
  for (const m of stills) {
    const img = await decodeImage(join(SAMPLES, m.media));
    assert.deepEqual([img.width, img.height], m.media_size);
    const pv = toPixelValues([resizeBicubic(img, 110, 110)], 110);
    let sum = 0;
    for (const v of pv) sum += v;
    assert.ok(Math.abs(sum / pv.length - m.pixel_values_frame_means[0]!) <= 6e-7, `${m.media}: mean ${sum / pv.length}`);
  }
});

test('JPEG: RGB order and size survive a jpeg-js round trip; EXIF orientation is not applied', () => {
  const w = 24, h = 16, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([10 * (i % w), 12 * Math.floor(i / w), 128, 255], i * 4);
  const enc = jpeg.encode({ width: w, height: h, data: rgba }, 95).data;
  // APP1 Exif, big-endian TIFF, one IFD entry: Orientation (0x0112) = 6 (rotate 90°).
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0];
  const app1 = [...Buffer.from('Exif\0\0', 'latin1'), ...tiff];
  const exif = Buffer.concat([enc.subarray(0, 2), Buffer.from([0xff, 0xe1, 0, app1.length + 2, ...app1]), enc.subarray(2)]);
  for (const bytes of [enc, exif]) {
    const img = decodeImageBytes(bytes, 'x.jpg');
    assert.deepEqual([img.width, img.height], [w, h]);
    let err = 0;
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) err = Math.max(err, Math.abs(img.data[i * 3 + c]! - rgba[i * 4 + c]!));
    assert.ok(err <= 8, `max error ${err}`); // lossy q95, not a decoder mismatch
  }
});

test('JPEG: a 4:2:0 file from another encoder (ffmpeg) is within a few LSB of ffmpeg\'s own decode',
  { skip: !HAS_FFMPEG && 'no ffmpeg' }, () => {
    // jpeg-js upsamples chroma by nearest neighbour; libjpeg (PIL) and ffmpeg interpolate. Smooth
    // content keeps the gap small; hard chroma edges can differ by more. This bounds the wiring, not PIL.
    const dir = mkdtempSync(join(tmpdir(), 'llava-img-'));
    try {
      const p = join(dir, 'c.jpg');
      const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'gradients=size=48x32:seed=3', '-frames:v', '1',
        '-pix_fmt', 'yuvj420p', '-q:v', '2', '-y', p]);
      assert.equal(r.status, 0, r.stderr.toString());
      const ref = spawnSync('ffmpeg', ['-v', 'error', '-i', p, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']).stdout;
      const img = decodeImageBytes(readFileSync(p), p);
      assert.deepEqual([img.width, img.height, img.data.length], [48, 32, ref.length]);
      let max = 0, sum = 0;
      for (let i = 0; i < ref.length; i++) { const d = Math.abs(img.data[i]! - ref[i]!); max = Math.max(max, d); sum += d; }
      console.log(`jpeg-js vs ffmpeg on a 4:2:0 gradient: max ${max} LSB, mean ${(sum / ref.length).toFixed(3)}`);
      assert.ok(max <= 6 && sum / ref.length < 1.5, `max ${max}, mean ${sum / ref.length}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('missing, empty, garbage, truncated and non-PNG/JPEG files are InputErrors naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llava-img-'));
  try {
    const good = encodePng({ w: 4, h: 4, colorType: 2, depth: 8, samples: Array(48).fill(7) });
    const files: Record<string, Uint8Array> = {
      'empty.png': new Uint8Array(0),
      'garbage.png': Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff),
      'truncated.png': good.subarray(0, 40),
      'badcrc.png': Buffer.concat([good.subarray(0, 20), Buffer.from([good[20]! ^ 0xff]), good.subarray(21)]),
      'anim.gif': Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'),
      'half.jpg': jpeg.encode({ width: 16, height: 16, data: new Uint8Array(1024).fill(90) }, 90).data.subarray(0, 30),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    for (const name of [...Object.keys(files), 'missing.png', '.']) {
      const p = join(dir, name);
      await assert.rejects(decodeImage(p), (e: unknown) => e instanceof InputError && e.message.includes(p), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
