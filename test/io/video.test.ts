// Video probing, decoding and sampling through ffmpeg, against the synthetic model's reference decode
// (samples.json: sha256 of every decoded rgb24 frame, per-frame pixel_values means at S = 110) and a
// tiny generated clip whose frames are all different, so a wrong frame index shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, copyFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync, execFileSync } from 'node:child_process';
import { probeVideo, sampleVideo, decodeSelectedFrames } from '../../src/io/video.js';
import { sampleFrameIndices } from '../../src/io/sampling.js';
import { resizeBicubic } from '../../src/io/resize.js';
import { toPixelValues } from '../../src/io/pixels.js';
import { InputError } from '../../src/core/errors.js';

const SAMPLES = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'models', 'llava-st-synth', 'samples');
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
const skip = !HAS_FFMPEG && 'ffmpeg/ffprobe not installed';

interface Sample { media: string; modality: string; decoded_rgb24_sha256: string; pixel_values_frame_means: number[] }
const samples = (): Sample[] =>
  (JSON.parse(readFileSync(join(SAMPLES, 'samples.json'), 'utf8')) as Sample[]).filter((s) => s.modality === 'video');

/** A clip (default 7 frames, 32×24) whose frames all differ (testsrc draws a moving pattern). */
function makeClip(dir: string, name: string, frames = 7, size = '32x24'): string {
  const p = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=5`, '-frames:v', String(frames),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50', '-bf', '0', '-y', p]);
  return p;
}

/** Every frame of a video as raw rgb24, decoded by the ffmpeg CLI directly (the independent path). */
function allFramesRaw(p: string, w: number, h: number): Uint8Array[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', p, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const n = raw.length / (w * h * 3);
  return Array.from({ length: n }, (_, i) => new Uint8Array(raw.subarray(i * w * h * 3, (i + 1) * w * h * 3)));
}

test('probeVideo reads size, frame count and fps of the demo videos', { skip }, async () => {
  for (const s of samples()) {
    assert.deepEqual(await probeVideo(join(SAMPLES, s.media)), { width: 160, height: 120, frameCount: 100, fps: 10, rotation: 0 });
  }
});

test('decoded rgb24 frames are byte-identical to the reference decode (sha256 over all frames)', { skip }, async () => {
  const all = Array.from({ length: 100 }, (_, i) => i);
  for (const s of samples()) {
    const p = join(SAMPLES, s.media);
    const h = createHash('sha256');
    const seen: number[] = [];
    await decodeSelectedFrames(p, await probeVideo(p), all, (i, f) => { seen.push(i); h.update(f.data); });
    assert.deepEqual(seen, all);
    assert.equal(h.digest('hex'), s.decoded_rgb24_sha256, s.media);
  }
});

test('sampleVideo at S = 110 matches the reference per-frame pixel_values means', { skip }, async () => {
  for (const s of samples().slice(0, 2)) {
    const progress: number[] = [];
    const v = await sampleVideo(join(SAMPLES, s.media), { size: 110, onProgress: (d, t) => { assert.equal(t, 100); progress.push(d); } });
    assert.deepEqual(v.frameIndices, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(v.frames.length, 100 * 3 * 110 * 110);
    assert.equal(progress.at(-1), 100);
    const plane = 3 * 110 * 110;
    for (let t = 0; t < 100; t++) {
      let sum = 0;
      for (let i = t * plane; i < (t + 1) * plane; i++) sum += v.frames[i]!;
      assert.ok(Math.abs(sum / plane - s.pixel_values_frame_means[t]!) <= 6e-7, `${s.media} frame ${t}: ${sum / plane}`);
    }
  }
});

test('a 7-frame clip: 100 samples repeat frames, each equal to the independently decoded frame', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llava-vid-'));
  try {
    const p = makeClip(dir, 'tiny.mp4');
    const info = await probeVideo(p);
    assert.deepEqual([info.width, info.height, info.frameCount, info.fps], [32, 24, 7, 5]);
    const raw = allFramesRaw(p, 32, 24);
    assert.equal(raw.length, 7);
    const S = 9, plane = 3 * S * S;
    const expected = raw.map((data) => toPixelValues([resizeBicubic({ width: 32, height: 24, data }, S, S)], S));
    for (let a = 1; a < 7; a++) assert.notDeepEqual(expected[a], expected[a - 1], 'test clip frames must differ');
    for (const split of [undefined, [2, 5], [3, 3]] as ([number, number] | undefined)[]) {
      const progress: number[] = [];
      const v = await sampleVideo(p, { size: S, split, onProgress: (d) => progress.push(d) });
      const [s0, s1] = split ?? [0, 6];
      assert.deepEqual(v.frameIndices, sampleFrameIndices(s0, s1));
      assert.equal(progress.length, s1 - s0 + 1); // one call per distinct frame, not per slot
      assert.equal(progress.at(-1), 100);
      for (let t = 0; t < 100; t++) {
        assert.deepEqual(v.frames.subarray(t * plane, (t + 1) * plane), expected[v.frameIndices[t]!], `split ${split} slot ${t}`);
      }
    }
    const v4 = await sampleVideo(p, { size: S, n: 4 });
    assert.deepEqual(v4.frameIndices, [0, 2, 4, 6]);
    assert.equal(v4.frames.length, 4 * plane);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors are InputErrors naming the file and values; ffmpeg is killed when sampling fails', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llava-vid-'));
  try {
    const tiny = makeClip(dir, 'tiny.mp4');
    writeFileSync(join(dir, 'empty.mp4'), new Uint8Array(0));
    writeFileSync(join(dir, 'garbage.mp4'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff));
    copyFileSync(join(SAMPLES, 'image1_rec.png'), join(dir, 'still.mp4'));
    const named = (p: string, ...more: RegExp[]) => (e: unknown): boolean =>
      e instanceof InputError && e.message.includes(p) && more.every((m) => m.test(e.message));
    for (const name of ['missing.mp4', 'empty.mp4', 'garbage.mp4', 'still.mp4']) {
      const p = join(dir, name);
      await assert.rejects(probeVideo(p), named(p), name);
      await assert.rejects(sampleVideo(p, { size: 8 }), named(p), name);
    }
    for (const split of [[0, 7], [5, 4], [-1, 3], [1.5, 3]] as [number, number][]) {
      await assert.rejects(sampleVideo(tiny, { size: 8, split }), named(tiny, new RegExp(`\\[${split[0]}, ${split[1]}\\]`), /7 frames/));
    }
    await assert.rejects(sampleVideo(tiny, { size: 0 }), named(tiny, /size/));
    await assert.rejects(sampleVideo(tiny, { size: 8, n: 1 }), named(tiny, /n must/));
    // A stand-in ffmpeg that sends one frame and then hangs: only a kill ends it before 30 s.
    const fake = join(dir, 'bin');
    mkdirSync(fake);
    writeFileSync(join(fake, 'ffmpeg'), `#!/bin/sh\necho $$ > "${dir}/ffmpeg.pid"\nhead -c ${160 * 120 * 3} /dev/zero\nexec sleep 30\n`);
    chmodSync(join(fake, 'ffmpeg'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${fake}:${path}`;
    const boom = new Error('stop here');
    try {
      await assert.rejects(sampleVideo(join(SAMPLES, 'demo1_tvg.mp4'), { size: 8, onProgress: () => { throw boom; } }), (e) => e === boom);
    } finally {
      process.env.PATH = path;
    }
    const pid = Number(readFileSync(join(dir, 'ffmpeg.pid'), 'utf8'));
    const alive = (): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    for (let waited = 0; alive() && waited < 1000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(), false, 'ffmpeg still running after the failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('variable frame rate: seconds are each sampled frame\'s own presentation time; indices unchanged', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfr-'));
  try {
    // 100 frames: ten one second apart (0..9 s), then ninety 0.1 s apart (9.1..18.0 s).
    // The average rate is 5.5 fps, so frame 10 (shown at 9.1 s) would be put at 1.8 s.
    const vfr = join(dir, 'vfr.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=10',
      '-vf', "settb=1/1000,setpts='if(lt(N,10),N,9+(N-9)*0.1)/TB'", '-fps_mode', 'passthrough',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr]);
    const v = await sampleVideo(vfr, { size: 8 });
    assert.equal(v.frameCount, 100);
    assert.deepEqual(v.frameIndices, sampleFrameIndices(0, 99, 100)); // the model's input does not change
    const want = v.frameIndices.map((i) => (i < 10 ? i : 9 + (i - 9) * 0.1));
    v.frameTimes!.forEach((t, k) => assert.ok(Math.abs(t - want[k]!) < 1e-6, `frame ${v.frameIndices[k]}: ${t} s, want ${want[k]} s`));
    assert.ok(Math.abs(10 / v.fps - 9.1) > 5, 'the average rate alone would be far off');
    const { extractGrounding } = await import('../../src/tasks/grounding.js');
    const g = extractGrounding('{<TEMP-010><TEMP-099>}', undefined, v);
    assert.ok(Math.abs(g.spans[0]!.start.seconds! - 9.1) < 1e-6 && Math.abs(g.spans[0]!.end.seconds! - 18) < 1e-6);

    assert.equal((await probeVideo(vfr)).rotation, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotation metadata: reported clockwise, never applied; boxes map onto the picture a player shows', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rot-'));
  try {
    // A white 8x8 mark at the top left of a black 64x48 frame.
    const stored = join(dir, 'mark.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=black:size=64x48:d=1,drawbox=x=0:y=0:w=8:h=8:color=white:t=fill',
      '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', stored]);
    const { rotateBox } = await import('../../src/tasks/grounding.js');
    const mark = [0, 0, 8 / 64, 8 / 48] as const;
    const seen = new Set<number>();
    for (const tag of [90, 180, 270]) {
      const turned = join(dir, `turned-${tag}.mp4`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', stored, '-c', 'copy', '-metadata:s:v:0', `rotate=${tag}`, turned]);
      const info = await probeVideo(turned);
      assert.deepEqual([info.width, info.height], [64, 48], 'decoded as stored');
      seen.add(info.rotation);
      // What a player shows: ffmpeg's own autorotation. The mark's bounding box there:
      const gray = execFileSync('ffmpeg', ['-v', 'error', '-i', turned, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
      const [w, h] = info.rotation % 180 === 0 ? [64, 48] : [48, 64];
      assert.equal(gray.length, w * h);
      let [x1, y1, x2, y2] = [w, h, 0, 0];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        if (gray[y * w + x]! > 128) { x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1); }
      }
      assert.deepEqual(rotateBox(mark, 64, 48, info.rotation).map(Math.round), [x1, y1, x2, y2], `rotation ${info.rotation}`);
    }
    assert.equal(seen.size, 3, 'three distinct rotations');
    assert.equal((await probeVideo(stored)).rotation, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
