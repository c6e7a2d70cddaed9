// Pillow-exact bicubic resize and pixel normalisation against the reference fixtures.
// Reached: 0 differing bytes on all 14 resize cases of shared/fixtures/preprocess (Pillow 9.4), and
// bit-identical float32 pixel_values for llava-st-tiny's image pair (made by the real processor).
// The preprocess fixture's pixel_values were made with a float32 rescale (u8 × float32(1/255)) instead
// of the real processor's float64 one: for 111 of the 256 u8 values the rescaled float32 differs by one
// ulp, i.e. at most 2^-23 after normalisation. The test checks exactly that, so a change on either side
// makes it fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { resizeBicubic, precomputeCoeffs } from '../../src/io/resize.js';
import { toPixelValues } from '../../src/io/pixels.js';
import { decodeImage, type RGBImage } from '../../src/io/image.js';
import { InputError, ShapeError } from '../../src/core/errors.js';

const SHARED = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared');
const PRE = join(SHARED, 'fixtures', 'preprocess');

/** Minimal safetensors reader (8-byte LE header length, JSON header, raw bytes), independent of src/core. */
function readSafetensors(path: string): Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets as [number, number];
    out.set(name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(buf.subarray(8 + n + a, 8 + n + b)) });
  }
  return out;
}

function f32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function countDiff(a: Uint8Array, b: Uint8Array): { n: number; max: number } {
  assert.equal(a.length, b.length);
  let n = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) { n++; max = Math.max(max, d); }
  }
  return { n, max };
}

/** Bitwise equality of float32 arrays, counting differing elements. */
function countDiffF32(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

/** The preprocess fixture's recipe: ((u8 · f32(1/255)) − 0.5) / 0.5, all in float32, CHW. */
function float32Rescale(img: RGBImage, size: number): Float32Array {
  const f = Math.fround, plane = size * size, out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = f(f(f(img.data[i * 3 + c]! * f(1 / 255)) - 0.5) / 0.5);
  }
  return out;
}

/** Count and largest absolute value of the elementwise differences. */
function absDiff(a: Float32Array, b: Float32Array): { n: number; max: number } {
  let n = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) { n++; max = Math.max(max, d); }
  }
  return { n, max };
}

interface ResizeCase { file: string; width: number; height: number; size: number; resized: string; pixel_values?: string }

test('resizeBicubic + toPixelValues match Pillow 9.4 on every preprocess case (0 differing bytes)', async () => {
  const cases = JSON.parse(readFileSync(join(PRE, 'cases.json'), 'utf8')).resize_cases as ResizeCase[];
  const golden = readSafetensors(join(PRE, 'resize_golden.safetensors'));
  const images = new Map<string, RGBImage>();
  const report: string[] = [];
  let totalDiff = 0;
  let pvCases = 0;
  for (const c of cases) {
    if (!images.has(c.file)) images.set(c.file, await decodeImage(join(PRE, c.file)));
    const src = images.get(c.file)!;
    assert.deepEqual([src.width, src.height], [c.width, c.height], c.file);
    const out = resizeBicubic(src, c.size, c.size);
    const want = golden.get(c.resized)!;
    assert.deepEqual(want.shape, [c.size, c.size, 3]);
    const d = countDiff(out.data, want.bytes);
    report.push(`${c.resized}: ${d.n} differing bytes (max ${d.max})`);
    totalDiff += d.n;
    if (c.pixel_values && d.n === 0) {
      const pv = toPixelValues([out], c.size);
      const want = f32(golden.get(c.pixel_values)!.bytes);
      assert.equal(countDiffF32(float32Rescale(out, c.size), want), 0, `${c.pixel_values}: fixture recipe changed`);
      const d = absDiff(pv, want);
      assert.ok(d.max <= 2 ** -23 && d.n > 0, `${c.pixel_values}: ${d.n} values differ, max ${d.max}`);
      pvCases++;
    }
  }
  console.log(report.join('\n'));
  assert.equal(totalDiff, 0, report.join('\n'));
  assert.equal(cases.length, 14);
  assert.equal(pvCases, 8);
});

test('image pipeline reproduces llava-st-tiny image_inputs pixel_values bit-exactly', () => {
  const t = readSafetensors(join(SHARED, 'fixtures', 'llava-st-tiny', 'image_inputs.safetensors'));
  const u8 = t.get('image_uint8')!;
  assert.deepEqual(u8.shape, [70, 90, 3]);
  const src: RGBImage = { width: 90, height: 70, data: u8.bytes };
  const pv = toPixelValues([resizeBicubic(src, 55, 55)], 55);
  const want = f32(t.get('pixel_values')!.bytes);
  assert.equal(pv.length, want.length);
  assert.equal(countDiffF32(pv, want), 0);
});

test('fixed-point weights of every output pixel sum to about 2^22 and stay inside the source', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 1, max: 400 }), (inSize, outSize) => {
    const c = precomputeCoeffs(inSize, outSize);
    for (let o = 0; o < outSize; o++) {
      const first = c.first[o]!, n = c.count[o]!;
      assert.ok(first >= 0 && n >= 1 && first + n <= inSize && n <= c.ksize);
      let sum = 0;
      for (let x = 0; x < n; x++) sum += c.k[o * c.ksize + x]!;
      assert.ok(Math.abs(sum - (1 << 22)) <= n, `in ${inSize} out ${outSize} o ${o}: sum ${sum}`);
    }
  }), { numRuns: 200 });
});

test('a constant image stays constant at any size, and the identity size returns a copy', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
    (w, h, ow, oh, rgb) => {
      const data = new Uint8Array(w * h * 3);
      for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
      const out = resizeBicubic({ width: w, height: h, data }, ow, oh);
      assert.equal(out.data.length, ow * oh * 3);
      for (let i = 0; i < ow * oh; i++) assert.deepEqual([...out.data.subarray(i * 3, i * 3 + 3)], rgb);
    }), { numRuns: 100 });
  const src = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  const same = resizeBicubic(src, 2, 1);
  assert.deepEqual(same.data, src.data);
  assert.notEqual(same.data, src.data);
});

test('bad sizes and mismatched frames are typed errors', () => {
  const src = { width: 2, height: 2, data: new Uint8Array(12) };
  assert.throws(() => resizeBicubic(src, 0, 3), InputError);
  assert.throws(() => resizeBicubic(src, 3, 2.5), InputError);
  assert.throws(() => resizeBicubic({ width: 2, height: 2, data: new Uint8Array(11) }, 3, 3), /11 bytes/);
  assert.throws(() => toPixelValues([src], 3), ShapeError);
});
