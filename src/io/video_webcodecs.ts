// Video input in a page: mediabunny demuxes (MP4/MOV, WebM/Matroska, …), WebCodecs' VideoDecoder
// decodes, and yuv420ToRgb24 converts the decoder's YUV planes exactly as FFmpeg's rgb24 output, so
// the frames equal what the Node path gets from ffmpeg. Only the groups of pictures that hold one
// of the sampled frames are decoded, and only sampled frames are converted. Frames are numbered in
// output order from the first, like decord and the ffmpeg path; the frame count is the packet count
// (a decoded frame per packet), the rate frames / duration.
//
// Browser only (VideoDecoder, VideoFrame); nothing here touches Node.

import { ALL_FORMATS, BlobSource, EncodedPacketSink, Input, type EncodedPacket } from 'mediabunny';
import { InputError } from '../core/errors.js';
import type { SampledVideo } from './video.js';
import { SampledFrames, checkSplit } from './frames.js';
import { NUM_FRAMES } from './sampling.js';
import { yuv420ToRgb24, yuvMatrixOf } from './yuv.js';

export interface WebVideoOptions {
  size: number;
  n?: number;
  split?: [number, number];
  onProgress?: (done: number, total: number) => void;
}

/** A group of pictures: the packets from one key packet to the next, and its first frame number. */
interface Gop { first: number; packets: EncodedPacket[] }

/** Samples `n` frames of a video file (Blob) as sampleVideo does in Node, decoding with WebCodecs. */
export async function sampleVideoWebCodecs(file: Blob, name: string, opts: WebVideoOptions): Promise<SampledVideo> {
  if (typeof VideoDecoder === 'undefined') throw new InputError(`${name}: this browser has no WebCodecs VideoDecoder, so it cannot decode video`);
  const input = new Input({ source: new BlobSource(file), formats: ALL_FORMATS });
  try {
    let track;
    try {
      track = await input.getPrimaryVideoTrack();
    } catch (e) {
      throw new InputError(`${name}: not a video file this page can read (${(e as Error).message}); MP4, MOV, WebM and MKV are supported`, { cause: e });
    }
    if (!track) throw new InputError(`${name}: the file holds no video track`);
    const codec = await track.getCodecParameterString();
    const config = await track.getDecoderConfig();
    if (!config || !codec) throw new InputError(`${name}: its video codec (${track.codec ?? 'unknown'}) is not one this page can decode`);
    const support = await VideoDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
    if (!support.supported) throw new InputError(`${name}: this browser cannot decode its video codec ${codec} (WebCodecs says unsupported)`);

    // Packet metadata only (no payloads): GOP boundaries, the frame count and the duration.
    const sink = new EncodedPacketSink(track);
    const gops: Gop[] = [];
    let count = 0;
    let firstTs = Infinity, endTs = -Infinity;
    const stamps: number[] = []; // packet timestamps, in decode order
    for await (const p of sink.packets(undefined, undefined, { metadataOnly: true })) {
      stamps.push(p.timestamp);
      if (p.type === 'key' || gops.length === 0) gops.push({ first: count, packets: [] });
      gops[gops.length - 1]!.packets.push(p);
      firstTs = Math.min(firstTs, p.timestamp);
      endTs = Math.max(endTs, p.timestamp + p.duration);
      count++;
    }
    if (count === 0) throw new InputError(`${name}: video has zero frames`);
    if (gops[0]!.packets[0]!.type !== 'key') throw new InputError(`${name}: the video does not start with a key frame`);
    const fps = endTs > firstTs ? count / (endTs - firstTs) : 0;
    const out = new SampledFrames(checkSplit(name, count, opts.split), opts.size, opts.n ?? NUM_FRAMES, name);

    let width = 0, height = 0;
    const wanted = new Set(out.wanted);
    let failure: unknown;
    const pending: VideoFrame[] = [];
    const decoder = new VideoDecoder({ output: (f) => pending.push(f), error: (e) => { failure = e; } });
    try {
      decoder.configure(config);
      for (const gop of gops) {
        const last = gop.first + gop.packets.length - 1;
        const needed = out.wanted.filter((i) => i >= gop.first && i <= last);
        if (needed.length === 0) continue; // no sampled frame in this group: skip its packets
        const stop = needed[needed.length - 1]!;
        let index = gop.first;
        // Frames come out in presentation order; number them as they come and convert the sampled ones.
        const drain = async (): Promise<void> => {
          if (failure) throw failure;
          for (const f of pending.splice(0)) {
            try {
              if (wanted.has(index)) {
                const rgb = await frameToRgb(f, name);
                width = rgb.width; height = rgb.height;
                opts.onProgress?.(out.put(index, rgb), out.n);
              }
            } finally {
              f.close();
            }
            index++;
          }
        };
        let p = await sink.getPacket(gop.packets[0]!.timestamp);
        for (let k = 0; k < gop.packets.length && p && index <= stop; k++) {
          decoder.decode(p.toEncodedVideoChunk());
          while (decoder.decodeQueueSize > 4) await new Promise((r) => setTimeout(r, 0));
          await drain();
          if (k + 1 < gop.packets.length) p = await sink.getNextPacket(p);
        }
        await decoder.flush();
        await drain();
        if (index <= stop) {
          throw new InputError(`${name}: decoded frames up to ${index - 1}, frame ${stop} not reached; the container lists ${count} frames`);
        }
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${name}: the video could not be decoded (${(e as Error).message ?? String(e)})`, { cause: e });
    } finally {
      for (const f of pending) f.close();
      if (decoder.state !== 'closed') decoder.close();
    }
    // Each sampled frame's own presentation time, as the ffprobe path reports it (right for VFR video).
    stamps.sort((a, b) => a - b);
    const frameTimes = out.frameIndices.map((i) => stamps[i]! - stamps[0]!);
    const rotation = await track.getRotation();
    return { frames: out.frames, frameIndices: out.frameIndices, frameTimes, width, height, frameCount: count, fps, rotation };
  } finally {
    input.dispose();
  }
}

/** A decoded frame's visible pixels as RGB24, through the FFmpeg-exact conversion. */
async function frameToRgb(f: VideoFrame, name: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const rect = f.visibleRect!;
  const width = rect.width, height = rect.height;
  const format = f.format;
  if (format !== 'I420' && format !== 'NV12') {
    throw new InputError(`${name}: the decoder gave ${format ?? 'opaque (GPU)'} frames; only 8-bit 4:2:0 video (I420, NV12) is supported`);
  }
  const layout = computeLayout(format, width, height);
  const buf = new Uint8Array(f.allocationSize({ rect, layout }));
  await f.copyTo(buf, { rect, layout });
  const cs = f.colorSpace;
  const planes = {
    width, height, y: buf.subarray(layout[0]!.offset), yStride: layout[0]!.stride,
    u: buf.subarray(layout[1]!.offset), uStride: layout[1]!.stride,
    ...(format === 'I420' ? { v: buf.subarray(layout[2]!.offset), vStride: layout[2]!.stride } : {}),
    fullRange: cs.fullRange === true, matrix: yuvMatrixOf(cs.matrix),
  };
  return { width, height, data: yuv420ToRgb24(planes) };
}

function computeLayout(format: 'I420' | 'NV12', w: number, h: number): PlaneLayout[] {
  const cw = (w + 1) >> 1, ch = (h + 1) >> 1;
  return format === 'I420'
    ? [{ offset: 0, stride: w }, { offset: w * h, stride: cw }, { offset: w * h + cw * ch, stride: cw }]
    : [{ offset: 0, stride: w }, { offset: w * h, stride: 2 * cw }];
}
