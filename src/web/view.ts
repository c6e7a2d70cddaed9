// What the page draws: the image (its decoded pixels, exactly what the model saw) or the playing
// video, an overlay with the predicted boxes (per frame for video), a timeline with the predicted
// spans shaded, and the input gestures: a box dragged on the picture, a span dragged on the timeline.
// Pictures are shown at an integer scale with pixelated sampling, so a box edge lands on whole pixels.
import { decodeImageBytes } from '../io/image.js';
import type { AnswerResult } from '../tasks/assistant.js';
import type { GroundedBox } from '../tasks/grounding.js';

/** Box outlines are this colour, one image pixel wide: rare in photos, and easy to find in a screenshot. */
export const BOX_RGB: readonly [number, number, number] = [255, 0, 255];
const INPUT_RGB = 'rgb(36, 99, 235)';
const MAX_W = 720, MAX_H = 540;

export interface Shown {
  kind: 'image' | 'video';
  width: number;
  height: number;
  /** Draws the answer's boxes for the current frame (video) or once (image). */
  redraw(): void;
  answer?: AnswerResult;
}

export interface Gestures {
  onBox(box: [number, number, number, number]): void;
  onSpan(span: number[]): void;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
/** Bumped by every showMedia: the previous video's frame loop sees it and stops drawing. */
let generation = 0;

/**
 * The outline's pixel rows and columns for a box in image pixels [x1, y1, x2, y2) (edges between
 * pixels): left column round(x1), right column round(x2) − 1, and the same for rows.
 */
export function outlinePixels(box: readonly number[], width: number, height: number): { left: number; top: number; right: number; bottom: number } {
  const clampX = (v: number): number => Math.min(width - 1, Math.max(0, v));
  const clampY = (v: number): number => Math.min(height - 1, Math.max(0, v));
  const left = clampX(Math.round(box[0]!)), top = clampY(Math.round(box[1]!));
  return { left, top, right: Math.max(left, clampX(Math.round(box[2]!) - 1)), bottom: Math.max(top, clampY(Math.round(box[3]!) - 1)) };
}

function strokeBox(ctx: CanvasRenderingContext2D, box: readonly number[], w: number, h: number, color: string): void {
  const o = outlinePixels(box, w, h);
  ctx.fillStyle = color;
  ctx.fillRect(o.left, o.top, o.right - o.left + 1, 1);
  ctx.fillRect(o.left, o.bottom, o.right - o.left + 1, 1);
  ctx.fillRect(o.left, o.top, 1, o.bottom - o.top + 1);
  ctx.fillRect(o.right, o.top, 1, o.bottom - o.top + 1);
}

function sizeCanvas(c: HTMLCanvasElement | HTMLVideoElement, w: number, h: number, scale: number): void {
  if (c instanceof HTMLCanvasElement) { c.width = w; c.height = h; }
  c.style.width = `${w * scale}px`;
  c.style.height = `${h * scale}px`;
}

/** Shows a picked or dropped file, and wires the box (and for video, span) gestures. */
export async function showMedia(file: File, kind: 'image' | 'video', g: Gestures): Promise<Shown> {
  const view = $<HTMLCanvasElement>('view'), video = $<HTMLVideoElement>('video'), overlay = $<HTMLCanvasElement>('overlay');
  const timeline = $('timeline');
  $('spans').replaceChildren();
  const mine = ++generation;
  video.pause();
  if (video.src.startsWith('blob:')) URL.revokeObjectURL(video.src);
  video.removeAttribute('src');
  video.load();
  let width: number, height: number;
  if (kind === 'image') {
    const img = decodeImageBytes(new Uint8Array(await file.arrayBuffer()), file.name);
    ({ width, height } = img);
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      rgba[4 * i] = img.data[3 * i]!; rgba[4 * i + 1] = img.data[3 * i + 1]!; rgba[4 * i + 2] = img.data[3 * i + 2]!; rgba[4 * i + 3] = 255;
    }
    view.hidden = false; video.hidden = true; timeline.hidden = true;
    const scale = Math.max(1, Math.floor(Math.min(MAX_W / width, MAX_H / height)));
    sizeCanvas(view, width, height, scale);
    view.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
    sizeCanvas(overlay, width, height, scale);
  } else {
    view.hidden = true; video.hidden = false; timeline.hidden = false;
    video.src = URL.createObjectURL(file);
    await new Promise<void>((ok, fail) => {
      video.onloadedmetadata = () => ok();
      video.onerror = () => fail(new Error('this browser cannot play it'));
    });
    width = video.videoWidth; height = video.videoHeight;
    const scale = Math.max(1, Math.floor(Math.min(MAX_W / width, MAX_H / height)));
    sizeCanvas(video, width, height, scale);
    sizeCanvas(overlay, width, height, scale);
    void video.play().catch(() => undefined);
  }
  const ctx = overlay.getContext('2d')!;
  const shown: Shown = {
    kind, width, height,
    redraw() {
      ctx.clearRect(0, 0, width, height);
      const boxes = shown.answer?.grounding.boxes ?? [];
      const now = kind === 'video' ? boxAt(boxes, video.currentTime) : boxes;
      for (const b of now) strokeBox(ctx, b.pixels, width, height, `rgb(${BOX_RGB.join(',')})`);
      if (kind === 'video') $('playhead').style.left = `${(100 * video.currentTime) / (video.duration || 1)}%`;
    },
  };
  wireBoxDrag(overlay, width, height, ctx, g);
  if (kind === 'video') {
    wireSpanDrag(timeline, video, g);
    // Redrawn on every presented frame, so each box shows on its own frame.
    const tick = (): void => {
      if (mine !== generation) return;
      shown.redraw();
      video.requestVideoFrameCallback(tick);
    };
    video.requestVideoFrameCallback(tick);
    video.onseeked = () => { if (mine === generation) shown.redraw(); };
  }
  return shown;
}

/** The video's box for time t: the latest box at or before t, while t is within the boxes' run. */
function boxAt(boxes: GroundedBox[], t: number): GroundedBox[] {
  const timed = boxes.filter((b) => b.time?.seconds !== undefined).sort((a, b) => a.time!.seconds! - b.time!.seconds!);
  if (timed.length === 0) return boxes; // a bare box holds for the whole video
  const gap = timed.length > 1 ? (timed[timed.length - 1]!.time!.seconds! - timed[0]!.time!.seconds!) / (timed.length - 1) : 0.5;
  let pick: GroundedBox | undefined;
  for (const b of timed) if (b.time!.seconds! <= t + 1e-6) pick = b;
  return pick && t <= pick.time!.seconds! + gap ? [pick] : [];
}

function wireBoxDrag(overlay: HTMLCanvasElement, w: number, h: number, ctx: CanvasRenderingContext2D, g: Gestures): void {
  const stage = $('stage');
  stage.classList.add('drag');
  const norm = (e: PointerEvent): [number, number] => {
    const r = overlay.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
  };
  let from: [number, number] | undefined;
  stage.onpointerdown = (e) => { from = norm(e); stage.setPointerCapture(e.pointerId); };
  stage.onpointermove = (e) => {
    if (!from) return;
    const to = norm(e);
    const box: [number, number, number, number] = [Math.min(from[0], to[0]), Math.min(from[1], to[1]), Math.max(from[0], to[0]), Math.max(from[1], to[1])];
    ctx.clearRect(0, 0, w, h);
    strokeBox(ctx, [box[0] * w, box[1] * h, box[2] * w, box[3] * h], w, h, INPUT_RGB);
    g.onBox(box);
  };
  stage.onpointerup = () => { from = undefined; };
}

function wireSpanDrag(timeline: HTMLElement, video: HTMLVideoElement, g: Gestures): void {
  const at = (e: PointerEvent): number => {
    const r = timeline.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };
  let from: number | undefined;
  const mark = document.createElement('div');
  mark.className = 'input';
  timeline.onpointerdown = (e) => {
    from = at(e);
    timeline.setPointerCapture(e.pointerId);
    video.currentTime = from * (video.duration || 0);
    g.onSpan([from]);
  };
  timeline.onpointermove = (e) => {
    if (from === undefined) return;
    const to = at(e);
    const [s, t] = [Math.min(from, to), Math.max(from, to)];
    Object.assign(mark.style, { left: `${s * 100}%`, width: `${(t - s) * 100}%` });
    if (!mark.isConnected) $('spans').append(mark);
    g.onSpan([s, t]);
  };
  timeline.onpointerup = () => { from = undefined; };
}

/** Shows an answer: boxes on the picture (per frame for video) and spans shaded on the timeline. */
export function drawAnswer(shown: Shown, r: AnswerResult): void {
  shown.answer = r;
  const spans = $('spans');
  for (const el of [...spans.children]) if (!el.classList.contains('input')) el.remove();
  for (const s of r.grounding.spans) {
    const d = document.createElement('div');
    Object.assign(d.style, { left: `${s.start.normalized * 100}%`, width: `${Math.max(0.3, (s.end.normalized - s.start.normalized) * 100)}%` });
    d.title = s.start.seconds !== undefined ? `${s.start.seconds.toFixed(2)} s – ${s.end.seconds!.toFixed(2)} s` : '';
    spans.append(d);
  }
  shown.redraw();
}
