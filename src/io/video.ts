// Video input: probe with ffprobe, decode with ffmpeg to rgb24 over a pipe, keep only the sampled
// frames, resize each as it arrives (architecture.md §3.1–3.2). Memory stays at one decoded frame plus
// the output tensor, whatever the video's length.
//
// Pixels: the reference decoded with decord (FFmpeg, RGB24). We use ffmpeg's default swscale
// conversion to rgb24, which reproduces the synthetic model's reference decode byte for byte
// (samples.json sha256); other decoders or builds may differ by ±1 LSB, mostly at chroma edges.
// Like decord, rotation metadata is ignored (-noautorotate: boxes are in the decoded frame's pixels,
// VideoInfo.rotation says how players turn it) and frame n is the decoder's n-th output frame.

import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import type { RGBImage } from './image.js';
import { SampledFrames, checkSplit } from './frames.js';
import { NUM_FRAMES } from './sampling.js';

export interface VideoInfo {
  width: number;
  height: number;
  /** decord's `len(vr)`: the container's frame count, or the exact packet count when it has none. */
  frameCount: number;
  /** Average frame rate (0 when the container gives none). */
  fps: number;
  /**
   * Degrees clockwise a player turns the stored picture (display matrix, or the legacy `rotate`
   * tag): 0, 90, 180 or 270. Frames are decoded unturned, as decord decodes them.
   */
  rotation: number;
}

export interface SampleVideoOptions {
  /** Output side S (384 for the real model). */
  size: number;
  /** Inclusive frame range [s0, s1]; default the whole video. */
  split?: [number, number];
  /** Number of sampled frames; the model needs 100. */
  n?: number;
  /** Called after each sampled frame is written: `done` of `total` output slots filled. */
  onProgress?: (done: number, total: number) => void;
}

export interface SampledVideo extends VideoInfo {
  /** [n, 3, S, S] normalised pixel values. */
  frames: Float32Array;
  frameIndices: number[];
  /**
   * Seconds of each sampled frame from the first frame: its own presentation time (so right for
   * variable-frame-rate video too), or index / fps where the container has no timestamps.
   */
  frameTimes?: number[];
}

interface ProcessResult { code: number | null; stdout: string; stderr: string }

/** Runs a tool to completion; a missing tool is an InputError naming it and the file it was for. */
function runTool(tool: string, args: string[], file: string): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    p.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    p.on('error', (e) => reject(new InputError(`${file}: cannot run ${tool} (${e.message}); is FFmpeg installed?`, { cause: e })));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** ffmpeg/ffprobe read any path as a local file (no protocol prefixes, no leading '-' options). */
function inputUrl(path: string): string {
  return `file:${path}`;
}

/** The first line of a tool's stderr, without FFmpeg's "[component @ 0x…]" prefix. */
function firstLine(s: string): string {
  return (s.trim().split('\n')[0] ?? '').replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '');
}

async function checkFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read video (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
  if (st.size === 0) throw new InputError(`${path}: empty file, not a video`);
}

function parseRate(r: unknown): number {
  if (typeof r !== 'string') return 0;
  const [num, den] = r.split('/').map(Number);
  const v = den === undefined ? num! : num! / den;
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * Width, height, frame count and fps of the first video stream.
 * Frame count: decord reports the container's nb_frames; we take it when present and otherwise the
 * packet count from `-count_packets`, which only demuxes (`-count_frames` decodes the whole video,
 * seconds to minutes for long files, and gives the same number for the codecs LLaVA-ST sees).
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  await checkFile(path);
  const r = await runTool('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-count_packets',
    '-show_entries', 'stream=width,height,nb_frames,nb_read_packets,avg_frame_rate,r_frame_rate:stream_tags=rotate:stream_side_data=rotation:format=format_name',
    '-of', 'json', '-i', inputUrl(path),
  ], path);
  if (r.code !== 0) throw new InputError(`${path}: not a readable video (ffprobe: ${firstLine(r.stderr)})`);
  const j = JSON.parse(r.stdout) as { streams?: Record<string, unknown>[]; format?: { format_name?: string } };
  const s = j.streams?.[0];
  if (!s) throw new InputError(`${path}: no video stream`);
  // ffprobe opens PNG/JPEG files as one-frame "videos"; those belong to the image path.
  const fmt = j.format?.format_name ?? '';
  if (fmt === 'image2' || fmt.endsWith('_pipe')) throw new InputError(`${path}: a still image (${fmt}), not a video`);
  const nbFrames = Number(s.nb_frames ?? 0);
  const nbRead = Number(s.nb_read_packets ?? 0);
  if (Number.isInteger(nbFrames) && nbFrames > 0 && nbRead < nbFrames) {
    const detail = firstLine(r.stderr);
    throw new InputError(`${path}: truncated video: the container lists ${nbFrames} frames, the file holds ${nbRead}${detail ? ` (ffprobe: ${detail})` : ''}`);
  }
  const frameCount = Number.isInteger(nbFrames) && nbFrames > 0 ? nbFrames : nbRead;
  const width = Number(s.width), height = Number(s.height);
  if (!(width > 0 && height > 0)) throw new InputError(`${path}: video stream has no frame size`);
  if (!(frameCount > 0)) throw new InputError(`${path}: video has zero frames`);
  const fps = parseRate(s.avg_frame_rate) || parseRate(s.r_frame_rate);
  return { width, height, frameCount, fps, rotation: rotationOf(s) };
}

/**
 * The clockwise display rotation of a probed stream, in [0, 360). ffprobe gives the display
 * matrix's angle counterclockwise (side data) and the legacy tag clockwise.
 */
function rotationOf(stream: Record<string, unknown>): number {
  const side = (stream.side_data_list as { rotation?: unknown }[] | undefined)?.find((d) => d.rotation !== undefined)?.rotation;
  const tag = (stream.tags as { rotate?: unknown } | undefined)?.rotate;
  const deg = side !== undefined ? -Number(side) : Number(tag ?? 0);
  return Number.isFinite(deg) ? ((Math.round(deg / 90) * 90 % 360) + 360) % 360 : 0;
}

/**
 * Presentation time of every frame of the first video stream, in seconds from the first frame, in
 * presentation order (frame n of the decoder is entry n). Demuxes only (packet timestamps, sorted:
 * packets come in decode order). Undefined when some packet has no timestamp.
 */
export async function presentationTimes(path: string): Promise<number[] | undefined> {
  const r = await runTool('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', '-i', inputUrl(path),
  ], path);
  if (r.code !== 0) throw new InputError(`${path}: not a readable video (ffprobe: ${firstLine(r.stderr)})`);
  const times = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => Number(l.split(',')[0]));
  if (times.length === 0 || times.some((t) => !Number.isFinite(t))) return undefined;
  times.sort((a, b) => a - b);
  const first = times[0]!;
  return times.map((t) => t - first);
}

/** ffmpeg `select` expression for sorted distinct frame numbers, as runs: between(n,a,b)+eq(n,c)+… */
function selectExpr(sorted: readonly number[]): string {
  const terms: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    terms.push(i === j ? `eq(n,${sorted[i]})` : `between(n,${sorted[i]},${sorted[j]})`);
    i = j + 1;
  }
  return `select='${terms.join('+')}'`;
}

/**
 * Decodes `info`-sized rgb24 frames of `path` and calls `onFrame` for each frame number in `wanted`
 * (sorted, distinct), in order. The frame's buffer is reused: it is valid only during the call.
 * ffmpeg is killed if `onFrame` throws or the caller's stream fails.
 */
export function decodeSelectedFrames(
  path: string, info: VideoInfo, wanted: readonly number[],
  onFrame: (frameIndex: number, frame: RGBImage) => void,
): Promise<void> {
  const frameBytes = info.width * info.height * 3;
  const frame: RGBImage = { width: info.width, height: info.height, data: new Uint8Array(frameBytes) };
  const args = [
    '-v', 'error', '-nostdin', '-noautorotate', '-i', inputUrl(path),
    '-map', '0:v:0', '-vf', selectExpr(wanted), '-fps_mode', 'passthrough',
    '-frames:v', String(wanted.length), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let filled = 0, k = 0, stderr = '', failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      p.kill('SIGKILL');
      reject(e);
    };
    p.stderr.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 4096) stderr += s; });
    p.on('error', (e) => fail(new InputError(`${path}: cannot run ffmpeg (${e.message}); is FFmpeg installed?`, { cause: e })));
    p.stdout.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        for (let off = 0; off < chunk.length && k < wanted.length;) {
          const take = Math.min(frameBytes - filled, chunk.length - off);
          frame.data.set(chunk.subarray(off, off + take), filled);
          filled += take;
          off += take;
          if (filled === frameBytes) {
            onFrame(wanted[k]!, frame);
            k++;
            filled = 0;
          }
        }
      } catch (e) {
        fail(e);
      }
    });
    p.on('close', (code, signal) => {
      if (failed) return;
      if (k === wanted.length) { resolve(); return; }
      const why = code !== 0 ? `ffmpeg exited with ${code ?? signal}: ${firstLine(stderr)}` : 'the stream ended early';
      fail(new InputError(`${path}: decoded ${k} of ${wanted.length} sampled frames, frame ${wanted[k]} ` +
        `not reached (${why}); the container reports ${info.frameCount} frames`));
    });
  });
}

/**
 * Samples `n` (default 100) frames of a video by LLaVA-ST's formula, resizes each to S×S with
 * Pillow-exact bicubic and normalises them: frames is [n, 3, S, S] float32.
 */
export async function sampleVideo(path: string, opts: SampleVideoOptions): Promise<SampledVideo> {
  const { size, n = NUM_FRAMES, onProgress } = opts;
  const info = await probeVideo(path);
  const out = new SampledFrames(checkSplit(path, info.frameCount, opts.split), size, n, path);
  await decodeSelectedFrames(path, info, out.wanted, (idx, rgb) => onProgress?.(out.put(idx, rgb), n));
  const frameIndices = out.frameIndices;
  const times = await presentationTimes(path);
  const frameTimes = times && times.length >= info.frameCount
    ? frameIndices.map((i) => times[i]!)
    : info.fps > 0 ? frameIndices.map((i) => i / info.fps) : undefined;
  return { frames: out.frames, frameIndices, ...(frameTimes ? { frameTimes } : {}), ...info };
}
