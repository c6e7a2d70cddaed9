// One safetensors file: a strict header parser and bounded, streaming reads.
//
// Layout (https://github.com/huggingface/safetensors): 8-byte little-endian u64 N, then N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}, then
// the data section. Offsets are relative to the data section, which the tensors must tile exactly.
// Every number taken from the file is checked before it is used as a size or an offset.
// The bytes come from a ModelSource (a folder, a URL, files dropped in a page) by positioned reads.

import { SafetensorsError } from './errors.js';
import { SourceError, type ModelSource } from './source.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype the format defines and we accept. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  byteLength: number;
  /** Path of the file that holds the tensor. */
  file: string;
  /** Absolute byte offset of the tensor's first byte in `file`. */
  offset: number;
}

export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes; the data section starts at 8 + N. */
  headerLength: number;
  dataStart: number;
  dataLength: number;
  metadata: Record<string, string>;
  /** In data-section order. */
  entries: Map<string, TensorEntry>;
}

/** Same cap as the reference Rust implementation: a header is metadata, never weights. */
export const MAX_HEADER_BYTES = 100_000_000;
/** readAll refuses tensors above this unless given a larger cap: big tensors go through readChunks. */
export const DEFAULT_READ_ALL_CAP = 64 * 1024 * 1024;

const ENTRY_KEYS = new Set(['dtype', 'shape', 'data_offsets']);

/** Validates the 8-byte prefix against the file size and returns N, the header length. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(file, undefined, `file is ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, undefined, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte cap`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(file, undefined, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  return Number(n);
}

/**
 * Parses JSON strictly: fatal UTF-8, no BOM, and duplicate keys at any depth are an error
 * (JSON.parse silently keeps the last one, which would let two tensors share a name).
 * `file` labels errors, `what` names the document ("header", "index") and `tensorAt` picks the
 * tensor to blame from the key path of a duplicate (default: its top-level key).
 */
export function parseStrictJson(bytes: Uint8Array, file: string, what: string,
  tensorAt: (keyPath: string[]) => string | undefined = (p) => p[0]): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(file, undefined, `${what} is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, undefined, `${what} is not valid JSON: ${(e as Error).message}`);
  }
  const dup = duplicateKeyPath(text);
  if (dup !== undefined) {
    const where = dup.length === 1 ? 'at the top level' : `inside "${dup.slice(0, -1).join('.')}"`;
    throw new SafetensorsError(file, tensorAt(dup), `${what} has duplicate key "${dup[dup.length - 1]}" ${where}`);
  }
  return value;
}

/**
 * Key path of the first duplicate object key in text already accepted by JSON.parse. In valid
 * JSON a string followed by ':' is a key of the innermost open object, so one linear scan with a
 * stack of key sets suffices (no recursion: deep nesting cannot overflow the stack).
 */
function duplicateKeyPath(text: string): string[] | undefined {
  interface Level { keys: Set<string> | undefined; lastKey: string | undefined } // keys undefined: an array
  const stack: Level[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      let k = j + 1;
      while (k < text.length && isJsonSpace(text.charCodeAt(k))) k++;
      const top = stack[stack.length - 1];
      if (text.charCodeAt(k) === 0x3a /* : */ && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          const outer = stack.slice(0, -1).flatMap((l) => (l.keys !== undefined && l.lastKey !== undefined ? [l.lastKey] : []));
          return [...outer, key];
        }
        top.keys.add(key);
        top.lastKey = key;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ keys: c === 0x7b ? new Set() : undefined, lastKey: undefined });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
  }
  return undefined;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDType(v: unknown): v is SafetensorsDType {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Shape -> bytes, refusing any intermediate product that leaves the safe-integer range. */
function shapeBytes(shape: number[], itemSize: number, file: string, name: string): number {
  if (shape.includes(0)) return 0;
  let bytes = itemSize;
  for (const d of shape) {
    bytes *= d;
    if (!Number.isSafeInteger(bytes)) {
      throw new SafetensorsError(file, name, `shape [${shape.join(', ')}] is too large: its byte size passes 2^53`);
    }
  }
  return bytes;
}

function parseEntry(name: string, raw: unknown, file: string, dataStart: number, dataLength: number): TensorEntry {
  if (name === '') throw new SafetensorsError(file, name, 'tensor name is empty');
  if (!isPlainObject(raw)) throw new SafetensorsError(file, name, 'entry is not an object');
  for (const k of Object.keys(raw)) {
    if (!ENTRY_KEYS.has(k)) throw new SafetensorsError(file, name, `unknown entry field "${k}"`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isDType(dtype)) {
    throw new SafetensorsError(file, name, `unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new SafetensorsError(file, name, `shape ${JSON.stringify(shape)} is not an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new SafetensorsError(file, name, `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw new SafetensorsError(file, name, `data_offsets [${begin}, ${end}] are not inside the data section of ${dataLength} bytes`);
  }
  const byteLength = shapeBytes(shape as number[], DTYPE_SIZE[dtype], file, name);
  if (end - begin !== byteLength) {
    throw new SafetensorsError(file, name,
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${byteLength}`);
  }
  return { name, dtype, shape: [...(shape as number[])], byteLength, file, offset: dataStart + begin };
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (!isPlainObject(raw)) throw new SafetensorsError(file, undefined, '__metadata__ is not an object');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new SafetensorsError(file, undefined, `__metadata__ value of "${k}" is not a string`);
    out[k] = v;
  }
  return out;
}

/** Tensors must tile [0, dataLength) exactly: no overlap, no gap, nothing trailing. */
function checkTiling(entries: TensorEntry[], dataStart: number, dataLength: number, file: string): TensorEntry[] {
  const sorted = [...entries].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let pos = dataStart;
  let prev: TensorEntry | undefined;
  for (const e of sorted) {
    if (e.offset < pos) {
      throw new SafetensorsError(file, e.name, `overlaps tensor "${prev?.name}" (data offset ${e.offset - dataStart} < ${pos - dataStart})`);
    }
    if (e.offset > pos) {
      throw new SafetensorsError(file, e.name, `gap of ${e.offset - pos} unreferenced bytes before it at data offset ${pos - dataStart}`);
    }
    pos = e.offset + e.byteLength;
    prev = e;
  }
  if (pos !== dataStart + dataLength) {
    throw new SafetensorsError(file, undefined, `${dataStart + dataLength - pos} trailing bytes of the data section belong to no tensor`);
  }
  return sorted;
}

export class SafetensorsFile {
  private closed = false;

  private constructor(
    /** The file as errors name it: a path or a URL. */
    readonly path: string,
    private readonly source: ModelSource,
    /** The file's name in `source`. */
    readonly name: string,
    /** Whether close() closes the source too (it was opened for this file alone). */
    private readonly ownsSource: boolean,
    readonly metadata: Record<string, string>,
    readonly entries: Map<string, TensorEntry>,
    readonly size: number,
  ) {}

  /**
   * Pure header parse. `bytes` is the file's start, at least through the header (the fuzz test
   * passes whole in-memory files); `fileSize` is the full file's size.
   */
  static parseHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
    const headerLength = readHeaderLength(bytes, fileSize, file);
    const dataStart = 8 + headerLength;
    if (bytes.length < dataStart) {
      throw new SafetensorsError(file, undefined, `only ${bytes.length} of the ${dataStart} header bytes were given`);
    }
    const dataLength = fileSize - dataStart;
    const json = parseStrictJson(bytes.subarray(8, dataStart), file, 'header');
    if (!isPlainObject(json)) throw new SafetensorsError(file, undefined, 'header JSON is not an object');
    let metadata: Record<string, string> = Object.create(null) as Record<string, string>;
    const list: TensorEntry[] = [];
    for (const [name, raw] of Object.entries(json)) {
      if (name === '__metadata__') metadata = parseMetadata(raw, file);
      else list.push(parseEntry(name, raw, file, dataStart, dataLength));
    }
    const sorted = checkTiling(list, dataStart, dataLength, file);
    return { headerLength, dataStart, dataLength, metadata, entries: new Map(sorted.map((e) => [e.name, e])) };
  }

  /** A file on disk (Node). */
  static async open(path: string): Promise<SafetensorsFile> {
    const { DirSource } = await import('./dir_source.js');
    const { basename, dirname, resolve } = await import('node:path');
    const full = resolve(path);
    const source = new DirSource(dirname(full));
    try {
      return await SafetensorsFile.openFrom(source, basename(full), true);
    } catch (e) {
      await source.close();
      throw e;
    }
  }

  /** The file `name` of a source; reads only the header now. `ownsSource`: close() closes `source`. */
  static async openFrom(source: ModelSource, name: string, ownsSource = false): Promise<SafetensorsFile> {
    const path = source.where(name);
    const size = await wrap(source.size(name), path, undefined);
    if (size === undefined) throw new SafetensorsError(path, undefined, 'cannot open: no such file');
    if (size < 8) readHeaderLength(new Uint8Array(0), size, path); // throws: too short
    const prefix = await wrap(source.read(name, 0, 8), path, undefined);
    const headerLength = readHeaderLength(prefix, size, path);
    const bytes = new Uint8Array(8 + headerLength);
    bytes.set(prefix);
    await wrap(source.read(name, 8, headerLength, bytes.subarray(8)), path, undefined);
    const header = SafetensorsFile.parseHeader(bytes, size, path);
    return new SafetensorsFile(path, source, name, ownsSource, header.metadata, header.entries, size);
  }

  entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (e === undefined) throw new SafetensorsError(this.path, name, 'no such tensor in this file');
    return e;
  }

  /**
   * Streams one tensor in order. `chunk` is a size (ONE buffer of at most that many bytes is
   * allocated for this call) or a caller-owned buffer to fill, which lets a loop over many tensors
   * keep a single buffer alive. Each yielded `bytes` views that buffer: it is valid only until the
   * next iteration step (copy it to keep it). `offset` is the chunk's byte offset in the tensor.
   * Chunks are a multiple of 4 bytes and of the element size (except the last), so a chunk never
   * splits an element and suits GPU buffer writes.
   */
  async *readChunks(name: string, chunk: number | Uint8Array): AsyncGenerator<{ offset: number; bytes: Uint8Array }> {
    const e = this.entry(name);
    const size = typeof chunk === 'number' ? chunk : chunk.length;
    const align = Math.max(4, DTYPE_SIZE[e.dtype]);
    if (!Number.isSafeInteger(size) || size <= 0 || (typeof chunk !== 'number' && size < align)) {
      throw new SafetensorsError(this.path, name, `chunk size ${size} is not a positive integer${typeof chunk === 'number' ? '' : ` >= ${align}`}`);
    }
    const step = Math.max(align, size - (size % align));
    const buffer = typeof chunk === 'number' ? new Uint8Array(Math.min(step, e.byteLength)) : chunk;
    for (let done = 0; done < e.byteLength; done += step) {
      this.checkOpen(name);
      const n = Math.min(step, e.byteLength - done);
      await wrap(this.source.read(this.name, e.offset + done, n, buffer), this.path, name);
      yield { offset: done, bytes: buffer.subarray(0, n) };
    }
  }

  /** Reads a small tensor whole into a fresh array; refuses tensors above `maxBytes`. */
  async readAll(name: string, maxBytes = DEFAULT_READ_ALL_CAP): Promise<Uint8Array> {
    const e = this.entry(name);
    if (e.byteLength > maxBytes) {
      throw new SafetensorsError(this.path, name, `is ${e.byteLength} bytes, over readAll's cap of ${maxBytes}: use readChunks`);
    }
    this.checkOpen(name);
    return wrap(this.source.read(this.name, e.offset, e.byteLength), this.path, name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsSource) await this.source.close();
  }

  private checkOpen(name: string): void {
    if (this.closed) throw new SafetensorsError(this.path, name, 'read after close()');
  }
}

/** A source's failure as a SafetensorsError naming the file and tensor (same messages whatever the source). */
export async function wrap<T>(p: Promise<T>, file: string, tensor: string | undefined): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof SourceError) throw new SafetensorsError(file, tensor, e.reason);
    throw e;
  }
}

/**
 * Serialises tensors (in the given order) with the header padded with spaces to a multiple of 8,
 * as the reference writer does. It checks nothing (so tests can build broken files): parseHeader does.
 * For tests, tools and dumping taps; big files need a streaming writer.
 */
export function encodeSafetensors(tensors: { name: string; dtype: SafetensorsDType; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata === undefined ? {} : { __metadata__: metadata };
  let pos = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.data.length] };
    pos += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + pos).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}
