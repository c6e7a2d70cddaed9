// The typed coordinate-token codec (architecture.md §5.1, §5.5).
//
// LLaVA-ST writes coordinates as 100-bin tokens, bin k <-> value k/99 (kinds, words and ids:
// model/coordinate_vocab.ts; ids follow the loaded config's vocab_size, e.g. 151660 for the 7B):
//   <TEMP-k>   normalised time  (kind temporal,       id vocabSize + k)        k = 0..99, zero-padded to 3
//   <HEIGHT-k> normalised y     (kind spatial_height, id vocabSize + 100 + k)
//   <WIDTH-k>  normalised x     (kind spatial_width,  id vocabSize + 200 + k)
// Answer shapes: span `{<TEMP-s><TEMP-e>}`, box `[<WIDTH-x1><HEIGHT-y1><WIDTH-x2><HEIGHT-y2>]`,
// per-frame pair `<TEMP-k>:[box]`, pairs joined by ", ".
//
// Unlike the reference parsers (parse.ts), decoding here never guesses: malformed output gives
// {ok: false, problems} with what is wrong and the character index where it is. Bins stay
// integers; values, frames, seconds and pixels are derived by the mapping helpers below.

import { InputError } from '../core/errors.js';
import { sampleFrameIndices } from '../io/sampling.js';
import {
  COORDINATE_KINDS, COORDINATE_WORD, KIND_OF_WORD, coordinateBase, type CoordinateKind, type CoordinateVocab, type CoordinateWord,
} from '../model/coordinate_vocab.js';

export { type CoordinateKind, type CoordinateVocab, coordinateVocabOf } from '../model/coordinate_vocab.js';
/** Bins a coordinate is written with (the text format's 0..99, value k/99). */
export const NUM_BINS = 100;

export interface CoordToken { kind: CoordinateKind; bin: number }
/** A span in temporal bins, start s and end e. */
export interface Span { s: number; e: number }
/** A box in bins: [x1 (WIDTH), y1 (HEIGHT), x2 (WIDTH), y2 (HEIGHT)]. */
export type Box = [number, number, number, number];
/** One `<TEMP-t>:[box]` pair. */
export interface FramePair { t: number; box: Box }

export type ProblemKind =
  | 'not-found' | 'missing-bracket' | 'wrong-arity' | 'wrong-kind' | 'bin-out-of-range'
  | 'start-after-end' | 'inverted-box' | 'missing-key' | 'missing-colon' | 'unexpected-text';
export interface Problem { kind: ProblemKind; at: number; message: string }
export type Decoded<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

const BOX_SLOTS: readonly CoordinateKind[] = ['spatial_width', 'spatial_height', 'spatial_width', 'spatial_height'];
const SPAN_SLOTS: readonly CoordinateKind[] = ['temporal', 'temporal'];
/** `<WIDTH-…>` for messages. */
const written = (kind: CoordinateKind): string => `<${COORDINATE_WORD[kind]}-…>`;

function checkBin(bin: number, what: string): void {
  if (!Number.isInteger(bin) || bin < 0 || bin >= NUM_BINS) {
    throw new InputError(`${what}: bin ${bin} is not an integer in 0..${NUM_BINS - 1}`);
  }
}

// ---- ids and strings ----------------------------------------------------------------------

/** The id of a coordinate token in a checkpoint's vocabulary (coordinateVocabOf(model.config)). */
export function coordTokenId(t: CoordToken, vocab: CoordinateVocab): number {
  checkBin(t.bin, `coordTokenId(${t.kind})`);
  if (t.bin >= vocab.bins[t.kind]) throw new InputError(`coordTokenId(${t.kind}): bin ${t.bin} is past this vocabulary's ${vocab.bins[t.kind]} bins`);
  return coordinateBase(vocab, t.kind) + t.bin;
}

/** The coordinate token an id stands for in a checkpoint's vocabulary, or null for any other id. */
export function coordTokenFromId(id: number, vocab: CoordinateVocab): CoordToken | null {
  if (!Number.isInteger(id)) return null;
  for (const kind of COORDINATE_KINDS) {
    const bin = id - coordinateBase(vocab, kind);
    if (bin >= 0 && bin < vocab.bins[kind]) return bin < NUM_BINS ? { kind, bin } : null;
  }
  return null;
}

export function coordTokenString(t: CoordToken): string {
  checkBin(t.bin, `coordTokenString(${t.kind})`);
  return `<${COORDINATE_WORD[t.kind]}-${String(t.bin).padStart(3, '0')}>`;
}

export const binToValue = (bin: number): number => bin / (NUM_BINS - 1);

// ---- encoding ------------------------------------------------------------------------------

export function encodeSpan(span: Span): string {
  return `{${coordTokenString({ kind: 'temporal', bin: span.s })}${coordTokenString({ kind: 'temporal', bin: span.e })}}`;
}

export function encodeBox(box: Box): string {
  return `[${box.map((bin, i) => coordTokenString({ kind: BOX_SLOTS[i]!, bin })).join('')}]`;
}

export function encodePairs(pairs: readonly FramePair[]): string {
  return pairs.map((p) => `${coordTokenString({ kind: 'temporal', bin: p.t })}:${encodeBox(p.box)}`).join(', ');
}

// ---- decoding ------------------------------------------------------------------------------

const TOKEN_AT = /<(TEMP|HEIGHT|WIDTH)-([0-9]+)>/y;
const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

interface Located { tok: CoordToken; at: number }

/** The coordinate token starting exactly at `at`, with the index after it. */
function tokenAt(text: string, at: number): { tok: CoordToken; end: number } | null {
  TOKEN_AT.lastIndex = at;
  const m = TOKEN_AT.exec(text);
  return m === null ? null : { tok: { kind: KIND_OF_WORD[m[1] as CoordinateWord], bin: Number(m[2]) }, end: at + m[0].length };
}

const skipSpace = (text: string, i: number): number => { while (isSpace(text[i])) i++; return i; };

/**
 * The coordinate tokens of a bracket group opening at `open` (`{` or `[`). Whitespace and single
 * commas may separate them. Returns the tokens and the index after the closing bracket.
 */
function readGroup(text: string, open: number, close: '}' | ']'): { items: Located[]; end: number } | Problem {
  const items: Located[] = [];
  let i = open + 1;
  for (;;) {
    i = skipSpace(text, i);
    if (text[i] === ',') i = skipSpace(text, i + 1);
    if (text[i] === close) return { items, end: i + 1 };
    const t = tokenAt(text, i);
    if (t !== null) { items.push({ tok: t.tok, at: i }); i = t.end; continue; }
    if (i >= text.length) {
      return { kind: 'missing-bracket', at: i, message: `'${text[open]}' at ${open} is never closed by '${close}' (the text ends)` };
    }
    return { kind: 'missing-bracket', at: i, message: `expected a coordinate token or '${close}' (closing '${text[open]}' at ${open}), found ${JSON.stringify(text[i])}` };
  }
}

/** Checks arity, slot kinds and bin range of a group's tokens. */
function checkSlots(items: Located[], slots: readonly CoordinateKind[], open: number, what: string): Problem[] {
  if (items.length !== slots.length) {
    return [{ kind: 'wrong-arity', at: open, message: `${what} at ${open} has ${items.length} coordinates, expected ${slots.length}` }];
  }
  const problems: Problem[] = [];
  items.forEach(({ tok, at }, i) => {
    if (tok.kind !== slots[i]) {
      problems.push({ kind: 'wrong-kind', at, message: `${what} slot ${i + 1} at ${at} is ${written(tok.kind)}, expected ${written(slots[i]!)}` });
    }
    if (tok.bin >= NUM_BINS) {
      problems.push({ kind: 'bin-out-of-range', at, message: `bin ${tok.bin} at ${at} is above ${NUM_BINS - 1}` });
    }
  });
  return problems;
}

function decodeSpanAt(text: string, open: number): Decoded<Span> {
  const g = readGroup(text, open, '}');
  if ('kind' in g) return { ok: false, problems: [g] };
  const problems = checkSlots(g.items, SPAN_SLOTS, open, 'span');
  if (problems.length > 0) return { ok: false, problems };
  const span = { s: g.items[0]!.tok.bin, e: g.items[1]!.tok.bin };
  if (span.s > span.e) {
    return { ok: false, problems: [{ kind: 'start-after-end', at: open, message: `span at ${open} starts at bin ${span.s} after its end ${span.e}` }] };
  }
  return { ok: true, value: span };
}

function decodeBoxAt(text: string, open: number): Decoded<Box> & { end?: number } {
  const g = readGroup(text, open, ']');
  if ('kind' in g) return { ok: false, problems: [g] };
  const problems = checkSlots(g.items, BOX_SLOTS, open, 'box');
  if (problems.length > 0) return { ok: false, problems };
  const box = g.items.map((x) => x.tok.bin) as Box;
  if (box[0] > box[2] || box[1] > box[3]) {
    return { ok: false, problems: [{ kind: 'inverted-box', at: open, message: `box at ${open} has x1 > x2 or y1 > y2: [${box.join(', ')}]` }] };
  }
  return { ok: true, value: box, end: g.end };
}

/** The first `{…}` of the text as a span of TEMP bins. */
export function decodeSpan(text: string): Decoded<Span> {
  const open = text.indexOf('{');
  if (open < 0) return { ok: false, problems: [{ kind: 'not-found', at: text.length, message: "no span: the text has no '{'" }] };
  return decodeSpanAt(text, open);
}

/** The first `[…]` of the text as a box. */
export function decodeBox(text: string): Decoded<Box> {
  const open = text.indexOf('[');
  if (open < 0) return { ok: false, problems: [{ kind: 'not-found', at: text.length, message: "no box: the text has no '['" }] };
  const r = decodeBoxAt(text, open);
  return r.ok ? { ok: true, value: r.value } : r;
}

/**
 * Every `<TEMP-k>:[box]` of the text, in order (repeated keys are kept; the caller decides).
 * Each `[` must be preceded by a TEMP key and a colon.
 */
export function decodePairs(text: string): Decoded<FramePair[]> {
  const pairs: FramePair[] = [];
  const problems: Problem[] = [];
  for (let open = text.indexOf('['); open >= 0; open = text.indexOf('[', open + 1)) {
    const key = keyBefore(text, open);
    if ('at' in key) { problems.push(key); continue; }
    const b = decodeBoxAt(text, open);
    if (!b.ok) { problems.push(...b.problems); continue; }
    pairs.push({ t: key.bin, box: b.value });
  }
  if (pairs.length === 0 && problems.length === 0) {
    problems.push({ kind: 'not-found', at: text.length, message: "no '<TEMP-k>:[box]' pair in the text" });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: pairs };
}

/** The TEMP key written before the box opening at `open` (`<TEMP-k>:` with optional spaces). */
function keyBefore(text: string, open: number): CoordToken | Problem {
  let i = open - 1;
  while (i >= 0 && isSpace(text[i])) i--;
  const colon = text[i] === ':';
  if (colon) { i--; while (i >= 0 && isSpace(text[i])) i--; }
  if (text[i] !== '>') {
    return { kind: 'missing-key', at: open, message: `box at ${open} has no '<TEMP-k>:' before it` };
  }
  const start = text.lastIndexOf('<', i);
  const t = start >= 0 ? tokenAt(text, start) : null;
  if (t === null || t.end !== i + 1) {
    return { kind: 'missing-key', at: open, message: `box at ${open} has no '<TEMP-k>:' before it` };
  }
  if (!colon) return { kind: 'missing-colon', at: i + 1, message: `key at ${start} is not followed by ':' before the box at ${open}` };
  if (t.tok.kind !== 'temporal') {
    return { kind: 'wrong-kind', at: start, message: `pair key at ${start} is ${written(t.tok.kind)}, expected <TEMP-…>` };
  }
  if (t.tok.bin >= NUM_BINS) return { kind: 'bin-out-of-range', at: start, message: `bin ${t.tok.bin} at ${start} is above ${NUM_BINS - 1}` };
  return t.tok;
}

export type AnswerTask = 'tvg' | 'stvg' | 'svg' | 'rec' | 'elc';
/** The tasks whose answers have a strict coordinate shape (the others answer in free text). */
export const ANSWER_TASKS: readonly AnswerTask[] = ['tvg', 'stvg', 'svg', 'rec', 'elc'];
export const isAnswerTask = (task: string): task is AnswerTask => (ANSWER_TASKS as readonly string[]).includes(task);
export interface DecodedAnswer { span?: Span; box?: Box; pairs?: FramePair[]; endBin?: number }

/** The coordinates a task's answer must carry, all problems collected (see §11 for the shapes). */
export function decodeAnswer(task: AnswerTask, text: string): Decoded<DecodedAnswer> {
  const value: DecodedAnswer = {};
  const problems: Problem[] = [];
  const take = <T>(r: Decoded<T>, set: (v: T) => void): void => { if (r.ok) set(r.value); else problems.push(...r.problems); };
  if (task === 'tvg' || task === 'stvg') take(decodeSpan(text), (v) => { value.span = v; });
  if (task === 'rec') take(decodeBox(text), (v) => { value.box = v; });
  if (task === 'stvg' || task === 'svg' || task === 'elc') take(decodePairs(text), (v) => { value.pairs = v; });
  if (task === 'elc') take(decodeEnd(text), (v) => { value.endBin = v; });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

/** ELC's "Ends in <TEMP-e>" end bin. */
function decodeEnd(text: string): Decoded<number> {
  const at = text.indexOf('Ends in');
  if (at < 0) return { ok: false, problems: [{ kind: 'not-found', at: text.length, message: "no 'Ends in <TEMP-e>' in the text" }] };
  const i = skipSpace(text, at + 'Ends in'.length);
  const t = tokenAt(text, i);
  if (t === null) return { ok: false, problems: [{ kind: 'unexpected-text', at: i, message: `expected <TEMP-e> after 'Ends in' at ${at}` }] };
  const problems = checkSlots([{ tok: t.tok, at: i }], ['temporal'], at, 'end time');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: t.tok.bin };
}

// ---- mapping back to the original media ------------------------------------------------------

/** The 100 sampled frame ids of split [s0, s1] (§3.2): the same sampling as the video decoder's. */
export function sampledFrameIndices(split: readonly [number, number], numFrames = NUM_BINS): number[] {
  return sampleFrameIndices(split[0], split[1], numFrames);
}

/** Temporal bin k is sampled frame k: its original frame id. */
export function binToFrame(bin: number, frameIdx: readonly number[]): number {
  checkBin(bin, 'binToFrame');
  if (frameIdx.length !== NUM_BINS) throw new InputError(`binToFrame: expected ${NUM_BINS} sampled frame ids, got ${frameIdx.length}`);
  return frameIdx[bin]!;
}

export function spanToFrames(span: Span, frameIdx: readonly number[]): { start: number; end: number } {
  return { start: binToFrame(span.s, frameIdx), end: binToFrame(span.e, frameIdx) };
}

/** Span in seconds of the original video; `fps` is the video's frame rate. */
export function spanToSeconds(span: Span, frameIdx: readonly number[], fps: number): { start: number; end: number } {
  if (!(fps > 0)) throw new InputError(`spanToSeconds: fps must be positive, got ${fps}`);
  const f = spanToFrames(span, frameIdx);
  return { start: f.start / fps, end: f.end / fps };
}

/** Box in pixels of the original W×H image (the image was stretched, so x·W and y·H). */
export function boxToPixels(box: Box, width: number, height: number): Box {
  return [binToValue(box[0]) * width, binToValue(box[1]) * height, binToValue(box[2]) * width, binToValue(box[3]) * height];
}
