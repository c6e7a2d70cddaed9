// Writes the picture of an answer for `run --viz`: the image with its boxes (PNG), or the sampled
// video frames with per-frame boxes and the span as a timeline (GIF, or a PNG contact sheet).
import { writeFile, rename, unlink } from 'node:fs/promises';
import { extname } from 'node:path';
import { InputError } from '../core/errors.js';
import { why } from './args.js';
import { decodeImage } from '../io/image.js';
import { probeVideo, decodeSelectedFrames } from '../io/video.js';
import { resizeBicubic } from '../io/resize.js';
import { renderGif, renderPng, type VizFrame, type NormBox } from '../io/viz.js';
import type { AnswerResult } from '../tasks/assistant.js';

const MAX_SIDE = 320;

function fit(w: number, h: number): [number, number] {
  const s = Math.min(1, MAX_SIDE / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

export async function writeViz(out: string, r: AnswerResult): Promise<void> {
  const ext = extname(out).toLowerCase();
  if (ext !== '.png' && ext !== '.gif') throw new InputError(`--viz ${out}: the picture must be a .png or .gif file`);
  if (!r.media) throw new InputError('--viz needs --video or --image');
  const span = r.grounding.spans[0];
  const spanNorm = span ? [span.start.normalized, span.end.normalized] as const : undefined;
  let bytes: Uint8Array;
  if (r.media.kind === 'image') {
    const img = await decodeImage(r.media.path);
    const [w, h] = fit(img.width, img.height);
    const boxes = r.grounding.boxes.map((b) => b.normalized as NormBox);
    bytes = renderPng([{ image: resizeBicubic(img, w, h), t: 0, boxes }]);
  } else {
    const info = await probeVideo(r.media.path);
    const indices = r.media.frameIndices!;
    const [w, h] = fit(info.width, info.height);
    const byFrame = new Map<number, VizFrame['image']>();
    await decodeSelectedFrames(r.media.path, info, [...new Set(indices)], (idx, rgb) => { byFrame.set(idx, resizeBicubic(rgb, w, h)); });
    let frames: VizFrame[] = indices.map((idx, k) => ({
      image: byFrame.get(idx)!, t: k / (indices.length - 1),
      boxes: r.grounding.boxes.filter((b) => b.time?.bin === k).map((b) => b.normalized as NormBox),
    }));
    if (ext === '.png') {
      // Contact sheet: the frames that carry boxes, or ten evenly spaced ones.
      const keyed = frames.filter((f) => f.boxes.length > 0);
      frames = keyed.length > 0 ? keyed.slice(0, 20) : frames.filter((_, k) => k % 11 === 0);
    }
    bytes = ext === '.gif' ? renderGif(frames, spanNorm) : renderPng(frames, spanNorm);
  }
  // Nothing half-written: write next to the target, then rename; a failure removes the temporary file.
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, out);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new InputError(`--viz ${out}: cannot write the picture (${why(e)})`, { cause: e });
  }
}
