// Model files in a folder on disk (Node only: nothing a page loads imports this module statically).
// File handles are opened on first read and kept until close(): a shard is read in many chunks.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SourceError, checkRead, isPlainFileName, type ModelSource } from './source.js';

export class DirSource implements ModelSource {
  readonly label: string;
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private closed = false;

  constructor(dir: string) {
    this.label = resolve(dir);
  }

  where(name: string): string {
    return join(this.label, name);
  }

  async size(name: string): Promise<number | undefined> {
    const path = this.where(name);
    if (!isPlainFileName(name)) throw new SourceError(path, 'is not a plain file name');
    let s;
    try {
      s = await stat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SourceError(path, `cannot open: ${(e as Error).message}`, { cause: e });
    }
    if (!s.isFile()) throw new SourceError(path, 'is not a regular file');
    return s.size;
  }

  async read(name: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const path = this.where(name);
    checkRead(path, position, length, into);
    const out = into ?? new Uint8Array(length);
    const h = await this.handle(name);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await h.read(out, got, length - got, position + got);
      if (bytesRead === 0) {
        throw new SourceError(path, `file ended at byte ${position + got}, expected ${length - got} more (truncated while open?)`);
      }
      got += bytesRead;
    }
    return out.subarray(0, length);
  }

  async close(): Promise<void> {
    this.closed = true;
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map((h) => h.then((x) => x.close(), () => undefined)));
  }

  private handle(name: string): Promise<FileHandle> {
    const path = this.where(name);
    if (this.closed) return Promise.reject(new SourceError(path, 'read after close()'));
    if (!isPlainFileName(name)) return Promise.reject(new SourceError(path, 'is not a plain file name'));
    let h = this.handles.get(name);
    if (h === undefined) {
      h = open(path, 'r').catch((e: unknown) => {
        this.handles.delete(name);
        throw new SourceError(path, `cannot open: ${(e as Error).message}`, { cause: e });
      });
      this.handles.set(name, h);
    }
    return h;
  }
}

/**
 * A path as the CLI takes it: a folder (the source itself), or one file in a folder (the source is
 * its folder, `file` its name). A missing path is a SourceError naming it.
 */
export async function openPath(path: string): Promise<{ source: DirSource; file?: string }> {
  const full = resolve(path);
  let s;
  try {
    s = await stat(full);
  } catch (e) {
    throw new SourceError(full, `cannot open: ${(e as Error).message}`, { cause: e });
  }
  if (s.isDirectory()) return { source: new DirSource(full) };
  return { source: new DirSource(dirname(full)), file: basename(full) };
}
