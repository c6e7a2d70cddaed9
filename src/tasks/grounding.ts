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
  pixels: [number, number, number, number];
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

export function extractGrounding(text: string, task: AnswerTask | undefined, geometry?: MediaGeometry): Grounding {
  const spans: GroundedSpan[] = [];
  for (const m of text.matchAll(SPAN)) {
    spans.push({ start: time(Number(m[1]), geometry), end: time(Number(m[2]), geometry), at: m.index });
  }
  const boxes: GroundedBox[] = [];
  for (const m of text.matchAll(BOX)) {
    const bins = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as [number, number, number, number];
    const normalized = bins.map(binToValue) as [number, number, number, number];
    const [w, h] = [geometry?.width ?? 1, geometry?.height ?? 1];
    const pixels = [normalized[0] * w, normalized[1] * h, normalized[2] * w, normalized[3] * h] as [number, number, number, number];
    boxes.push({ ...(m[1] !== undefined ? { time: time(Number(m[1]), geometry) } : {}), bins, normalized, pixels, at: m.index });
  }
  const problems = task ? (() => { const r = decodeAnswer(task, text); return r.ok ? [] : r.problems; })() : [];
  return { spans, boxes, problems };
}
