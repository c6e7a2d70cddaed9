// What an answer says about where and when: every span {<TEMP-s><TEMP-e>} and every box
// [<WIDTH-x1><HEIGHT-y1><WIDTH-x2><HEIGHT-y2>] (with its frame key <TEMP-k>: when it has one),
// as bins, normalized values, and mapped back to the original video (frames, seconds) and image
// (pixels). This is lenient extraction for display and JSON: the strict, task-aware check that
// reports what is malformed and where is coordinates.decodeAnswer, reported beside it.
import { binToValue, decodeAnswer, NUM_BINS, type AnswerTask, type Problem } from './coordinates.js';

export interface MediaGeometry {
  width: number;
  height: number;
  /** Video only: the original frame id of each sampled frame (bin k = sampled frame k). */
  frameIndices?: readonly number[];
  /** Video only: seconds of each sampled frame (its presentation time); else frame / fps is used. */
  frameTimes?: readonly number[];
  fps?: number;
  /** Video only: degrees clockwise a player turns the stored frame (0, 90, 180, 270). */
  rotation?: number;
}

export interface GroundedTime {
  bin: number;
  normalized: number;
  frame?: number;
  seconds?: number;
}

export interface GroundedSpan { start: GroundedTime; end: GroundedTime; at: number }

export interface GroundedBox {
  /** The frame key of a per-frame pair `<TEMP-k>:[box]`, absent for a bare box. */
  time?: GroundedTime;
  bins: [number, number, number, number];
  normalized: [number, number, number, number];
  /** In pixels of the frame as stored and decoded (what the model saw). */
  pixels: [number, number, number, number];
  /** Rotated video only: the same box in pixels of the picture a player shows. */
  displayPixels?: [number, number, number, number];
  at: number;
}

export interface Grounding {
  spans: GroundedSpan[];
  boxes: GroundedBox[];
  /** Problems found by the strict decoder for the task's expected answer shape (empty if it parses). */
  problems: Problem[];
}

const T = '<TEMP-(\\d+)>', W = '<WIDTH-(\\d+)>', H = '<HEIGHT-(\\d+)>', SEP = '\\s*,?\\s*';
const SPAN = new RegExp(`\\{\\s*${T}${SEP}${T}\\s*\\}`, 'g');
const BOX = new RegExp(`(?:${T}\\s*:\\s*)?\\[\\s*${W}${SEP}${H}${SEP}${W}${SEP}${H}\\s*\\]`, 'g');

function time(bin: number, g?: MediaGeometry): GroundedTime {
  const t: GroundedTime = { bin, normalized: binToValue(bin) };
  const frames = g?.frameIndices;
  if (frames && frames.length === NUM_BINS && bin < NUM_BINS) {
    t.frame = frames[bin]!;
    const seconds = g.frameTimes?.[bin] ?? (g.fps && g.fps > 0 ? t.frame / g.fps : undefined);
    if (seconds !== undefined) t.seconds = seconds;
  }
  return t;
}

/** A normalized box of the stored frame, in pixels of the frame turned `rotation` degrees clockwise. */
export function rotateBox(b: readonly [number, number, number, number], width: number, height: number, rotation: number): [number, number, number, number] {
  const [x1, y1, x2, y2] = b;
  switch (rotation) {
    case 90: return [(1 - y2) * height, x1 * width, (1 - y1) * height, x2 * width];
    case 180: return [(1 - x2) * width, (1 - y2) * height, (1 - x1) * width, (1 - y1) * height];
    case 270: return [y1 * height, (1 - x2) * width, y2 * height, (1 - x1) * width];
    default: return [x1 * width, y1 * height, x2 * width, y2 * height];
  }
}

export function extractGrounding(text: string, task: AnswerTask | undefined, geometry?: MediaGeometry): Grounding {
  const spans: GroundedSpan[] = [];
  for (const m of text.matchAll(SPAN)) {
    spans.push({ start: time(Number(m[1]), geometry), end: time(Number(m[2]), geometry), at: m.index });
  }
  const boxes: GroundedBox[] = [];
  for (const m of text.matchAll(BOX)) {
    const bins = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as [number, number, number, number];
    const normalized = bins.map(binToValue) as [number, number, number, number];
    const [w, h, rotation] = [geometry?.width ?? 1, geometry?.height ?? 1, geometry?.rotation ?? 0];
    const pixels = rotateBox(normalized, w, h, 0);
    boxes.push({
      ...(m[1] !== undefined ? { time: time(Number(m[1]), geometry) } : {}), bins, normalized, pixels,
      ...(rotation ? { displayPixels: rotateBox(normalized, w, h, rotation) } : {}), at: m.index,
    });
  }
  const problems = task ? (() => { const r = decodeAnswer(task, text); return r.ok ? [] : r.problems; })() : [];
  return { spans, boxes, problems };
}
