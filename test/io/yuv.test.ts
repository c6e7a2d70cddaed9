// yuv420ToRgb24 (the pages' YUV -> RGB, fed by WebCodecs) against the reference decode: the demo
// videos' YUV planes as FFmpeg's H.264 decoder gives them (deterministic: the codec defines every
// output sample), converted here, must hash to samples.json's sha256 of the reference rgb24 frames.
// Also the NV12 layout, padded strides and odd sizes agree with the plain I420 conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { yuv420ToRgb24, type YuvPlanes } from '../../src/io/yuv.js';
import { sharedPath } from '../support/shared.js';

const SAMPLES = sharedPath('models/llava-st-synth/samples');
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;

interface Sample { media: string; modality: string; media_size: [number, number]; decoded_rgb24_sha256: string }

test('I420 planes of the demo videos convert to the reference rgb24 frames exactly (sha256)', { skip: !HAS_FFMPEG && 'ffmpeg not installed' }, () => {
  const samples = (JSON.parse(readFileSync(join(SAMPLES, 'samples.json'), 'utf8')) as Sample[]).filter((s) => s.modality === 'video');
  assert.equal(samples.length, 4);
  for (const s of samples) {
    const [W, H] = s.media_size;
    const yuv = execFileSync('ffmpeg', ['-v', 'error', '-i', `file:${join(SAMPLES, s.media)}`, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'],
      { maxBuffer: 64 << 20 });
    const frameBytes = (W * H * 3) / 2;
    assert.equal(yuv.length % frameBytes, 0);
    const h = createHash('sha256');
    for (let f = 0; f < yuv.length / frameBytes; f++) {
      const b = yuv.subarray(f * frameBytes, (f + 1) * frameBytes);
      h.update(yuv420ToRgb24({ width: W, height: H, y: b.subarray(0, W * H), yStride: W,
        u: b.subarray(W * H, (W * H * 5) / 4), uStride: W / 2, v: b.subarray((W * H * 5) / 4), vStride: W / 2 }));
    }
    assert.equal(h.digest('hex'), s.decoded_rgb24_sha256, s.media);
  }
});

test('NV12, padded strides and odd sizes give the same pixels as packed I420', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 5 }),
    fc.integer({ min: 1, max: 2 ** 30 }), fc.constantFrom('bt601', 'bt709', 'bt2020'), fc.boolean(),
    (W, H, pad, seed, matrix, fullRange) => {
      let r = seed;
      const rnd = (): number => { r = (Math.imul(r, 1103515245) + 12345) >>> 0; return r >>> 24; };
      const cw = (W + 1) >> 1, ch = (H + 1) >> 1;
      const y = Uint8Array.from({ length: W * H }, rnd), u = Uint8Array.from({ length: cw * ch }, rnd), v = Uint8Array.from({ length: cw * ch }, rnd);
      const base: YuvPlanes = { width: W, height: H, y, yStride: W, u, uStride: cw, v, vStride: cw, matrix: matrix as YuvPlanes['matrix'], fullRange };
      const want = yuv420ToRgb24(base);
      const ys = W + pad, cs = cw + pad;
      const yp = new Uint8Array(ys * H), up = new Uint8Array(cs * ch), vp = new Uint8Array(cs * ch), uv = new Uint8Array((2 * cw + pad) * ch);
      for (let i = 0; i < H; i++) yp.set(y.subarray(i * W, (i + 1) * W), i * ys);
      for (let i = 0; i < ch; i++) for (let j = 0; j < cw; j++) {
        up[i * cs + j] = u[i * cw + j]!; vp[i * cs + j] = v[i * cw + j]!;
        uv[i * (2 * cw + pad) + 2 * j] = u[i * cw + j]!; uv[i * (2 * cw + pad) + 2 * j + 1] = v[i * cw + j]!;
      }
      assert.deepEqual(yuv420ToRgb24({ ...base, y: yp, yStride: ys, u: up, uStride: cs, v: vp, vStride: cs }), want);
      const { v: _v, vStride: _vs, ...rest } = base;
      assert.deepEqual(yuv420ToRgb24({ ...rest, y: yp, yStride: ys, u: uv, uStride: 2 * cw + pad }), want);
    }), { numRuns: 200 });
});

test('random planes, every matrix and range: the same bytes as ffmpeg -pix_fmt rgb24', { skip: !HAS_FFMPEG && 'ffmpeg not installed' }, () => {
  // Every Y (0..255, so values under 16 too), U and V value, at a size that is not a multiple of 16.
  const W = 70, H = 34;
  let r = 12345;
  const rnd = (): number => { r = (Math.imul(r, 1103515245) + 12345) >>> 0; return r >>> 24; };
  const y = Uint8Array.from({ length: W * H }, (_, i) => (i < 256 ? i : rnd()));
  const u = Uint8Array.from({ length: (W / 2) * (H / 2) }, (_, i) => (i < 256 ? 255 - i : rnd()));
  const v = Uint8Array.from({ length: (W / 2) * (H / 2) }, rnd);
  const planes = Buffer.concat([y, u, v]);
  for (const [colorspace, range, matrix, fullRange] of [['smpte170m', 'tv', 'bt601', false], ['bt709', 'tv', 'bt709', false],
    ['bt2020nc', 'tv', 'bt2020', false], ['bt470bg', 'pc', 'bt601', true], ['bt709', 'pc', 'bt709', true]] as const) {
    const want = execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-colorspace', colorspace,
      '-color_range', range, '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: planes });
    const got = yuv420ToRgb24({ width: W, height: H, y, yStride: W, u, uStride: W / 2, v, vStride: W / 2, matrix, fullRange });
    let differing = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) differing++;
    assert.equal(differing, 0, `${colorspace} ${range}: ${differing} of ${got.length} bytes differ from ffmpeg's`);
  }
});
