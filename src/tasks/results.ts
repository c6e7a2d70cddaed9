// results.jsonl: one JSON object per line, one line per item, each with a string `id`.
//
// A run appends a line as soon as an item is answered, so a crash loses at most the line being
// written. Resuming reads what is there, cuts a half-written last line, and skips every id
// already present: an item id is never counted twice. Any other broken line is an InputError
// naming the file and the line number.

import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { InputError } from '../core/errors.js';

/** One saved prediction. `answer_text` is the detokenised answer; other fields are free. */
export interface ResultLine {
  id: string;
  task?: string;
  answer_text?: string;
  [field: string]: unknown;
}

export interface ReadResults {
  lines: ResultLine[];
  /** Ids that occur on more than one line, with their 1-based line numbers (the last one wins). */
  duplicates: { id: string; lines: number[] }[];
  /** A half-written last line that was dropped (only when tolerated). */
  truncatedTail?: { line: number; byteOffset: number };
}

/** Parses JSONL text; `name` is used in messages. The last line of a duplicate id wins. */
export function parseResults(text: string, name: string, opts: { tolerateTruncatedTail?: boolean } = {}): ReadResults {
  const rows = text.split('\n');
  const byId = new Map<string, { line: ResultLine; at: number[] }>();
  let offset = 0;
  let truncatedTail: ReadResults['truncatedTail'];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const lineNo = i + 1;
    const start = offset;
    offset += Buffer.byteLength(row, 'utf8') + 1;
    if (row.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(row);
    } catch (e) {
      const isTail = i === rows.length - 1; // no newline after it: the writer was interrupted
      if (isTail && opts.tolerateTruncatedTail === true) { truncatedTail = { line: lineNo, byteOffset: start }; break; }
      throw new InputError(`${name}:${lineNo}: not valid JSON (${(e as Error).message})`, { cause: e });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError(`${name}:${lineNo}: expected a JSON object`);
    const id = (obj as Record<string, unknown>).id;
    if (typeof id !== 'string' || id === '') throw new InputError(`${name}:${lineNo}: field 'id' must be a non-empty string`);
    const seen = byId.get(id);
    if (seen === undefined) byId.set(id, { line: obj as ResultLine, at: [lineNo] });
    else { seen.line = obj as ResultLine; seen.at.push(lineNo); }
  }
  const out: ReadResults = {
    lines: [...byId.values()].map((v) => v.line),
    duplicates: [...byId.entries()].filter(([, v]) => v.at.length > 1).map(([id, v]) => ({ id, lines: v.at })),
  };
  if (truncatedTail !== undefined) out.truncatedTail = truncatedTail;
  return out;
}

export function readResults(path: string, opts: { tolerateTruncatedTail?: boolean } = {}): ReadResults {
  if (!existsSync(path)) throw new InputError(`${path}: results file not found`);
  return parseResults(readFileSync(path, 'utf8'), path, opts);
}

/** Appends result lines; with `resume`, keeps the file and skips ids already in it. */
export class ResultsWriter {
  readonly path: string;
  private readonly done: Set<string>;

  private constructor(path: string, done: Set<string>) {
    this.path = path;
    this.done = done;
  }

  static open(path: string, opts: { resume?: boolean } = {}): ResultsWriter {
    if (opts.resume !== true || !existsSync(path)) {
      writeFileSync(path, '');
      return new ResultsWriter(path, new Set());
    }
    const r = readResults(path, { tolerateTruncatedTail: true });
    if (r.truncatedTail !== undefined) truncateSync(path, r.truncatedTail.byteOffset);
    else {
      const text = readFileSync(path, 'utf8');
      if (text.length > 0 && !text.endsWith('\n')) appendFileSync(path, '\n'); // a complete last line without its newline
    }
    return new ResultsWriter(path, new Set(r.lines.map((l) => l.id)));
  }

  has(id: string): boolean {
    return this.done.has(id);
  }

  /** Ids still to do, in the given order. */
  pending<T extends { id: string }>(items: readonly T[]): T[] {
    return items.filter((it) => !this.done.has(it.id));
  }

  /** Writes the line unless its id is already in the file; returns whether it was written. */
  append(line: ResultLine): boolean {
    if (typeof line.id !== 'string' || line.id === '') throw new InputError(`${this.path}: a result line needs a non-empty string 'id'`);
    if (this.done.has(line.id)) return false;
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
    this.done.add(line.id);
    return true;
  }
}
