// Where a model's files come from: a folder on disk (Node), a base URL (HTTP Range requests, in a
// page or in Node), or files picked or dropped in a page. Everything that reads a checkpoint, its
// config and its tokenizer reads through this interface, so the strict safetensors reader, the
// sharded index and the config checks are the same code whichever place the bytes come from.
//
// Only positioned reads: a multi-GB shard is read in bounded chunks, never held whole.

import { LlavaStError } from './errors.js';

/** A file of a source cannot be found, opened or read: names the file (path or URL) and why. */
export class SourceError extends LlavaStError {
  /** The message without the file: for callers that wrap it in their own typed error. */
  readonly reason: string;
  constructor(readonly file: string, reason: string, options?: { cause?: unknown }) {
    super('E_SOURCE', `${file}: ${reason}`, options);
    this.reason = reason;
  }
}

export interface ModelSource {
  /** The source itself as a person would name it: a folder path, a base URL, "3 dropped files". */
  readonly label: string;
  /** One file of the source as error messages name it: a path, a URL. */
  where(name: string): string;
  /** Bytes in the file `name`, or undefined when there is no such file. Other failures throw SourceError. */
  size(name: string): Promise<number | undefined>;
  /**
   * Exactly `length` bytes of `name` from `position`, written into `into` (at its start) when given,
   * else into a fresh array. Fewer bytes than asked (the file shrank, a server cut the response) throw.
   */
  read(name: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Releases open handles; reads after close throw. */
  close(): Promise<void>;
}

/**
 * A whole small file (config, tokenizer, index): undefined when absent, a SourceError over `maxBytes`
 * (these are metadata: a file over the cap is the wrong file, not a big config).
 */
export async function readWhole(source: ModelSource, name: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const n = await source.size(name);
  if (n === undefined) return undefined;
  if (n > maxBytes) throw new SourceError(source.where(name), `is ${n} bytes, over the ${maxBytes}-byte cap for this file`);
  return source.read(name, 0, n);
}

/** readWhole as UTF-8 text (a BOM is kept, as Node's readFile(path, 'utf8') does). */
export async function readText(source: ModelSource, name: string, maxBytes: number): Promise<string | undefined> {
  const bytes = await readWhole(source, name, maxBytes);
  return bytes === undefined ? undefined : new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/** Caps of the small files: the largest real ones (Qwen2 tokenizer.json) are ~7 MB. */
export const MAX_SMALL_FILE_BYTES = 64 * 1024 * 1024;

/** The checked arguments of a read, shared by every implementation. */
export function checkRead(where: string, position: number, length: number, into?: Uint8Array): void {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new SourceError(where, `read of ${length} bytes at ${position}: not non-negative integers`);
  }
  if (into !== undefined && into.length < length) {
    throw new SourceError(where, `read of ${length} bytes into a buffer of ${into.length}`);
  }
}

/** A file name of a model folder: no folders, no parent links (a name from an index could point anywhere). */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\]/.test(name);
}
