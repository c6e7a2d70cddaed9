// Model files the user picked or dropped in a page (File objects, or any Blob), by base name.
// A picked folder (<input webkitdirectory>) gives "folder/config.json" paths: the base names count.

import { SourceError, checkRead, type ModelSource } from './source.js';

export class BlobSource implements ModelSource {
  readonly label: string;
  private readonly files = new Map<string, Blob>();
  private closed = false;

  /** `files`: base name -> Blob, or File objects (named by their `name`). */
  constructor(files: Iterable<File> | Map<string, Blob>, label?: string) {
    for (const [name, blob] of files instanceof Map ? files : [...files].map((f) => [f.name, f] as const)) {
      const base = name.split(/[/\\]/).pop()!;
      if (this.files.has(base)) throw new SourceError(base, 'given twice');
      this.files.set(base, blob);
    }
    this.label = label ?? `${this.files.size} chosen file${this.files.size === 1 ? '' : 's'}`;
  }

  where(name: string): string {
    return name;
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  async size(name: string): Promise<number | undefined> {
    return this.files.get(name)?.size;
  }

  async read(name: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    checkRead(name, position, length, into);
    if (this.closed) throw new SourceError(name, 'read after close()');
    const blob = this.files.get(name);
    if (blob === undefined) throw new SourceError(name, 'not among the chosen files');
    if (position + length > blob.size) {
      throw new SourceError(name, `the file ended at byte ${blob.size}, expected ${position + length - blob.size} more`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await blob.slice(position, position + length).arrayBuffer());
    } catch (e) {
      throw new SourceError(name, `cannot read (${(e as Error).message}; was the file changed or moved?)`, { cause: e });
    }
    if (bytes.length !== length) throw new SourceError(name, `read ${bytes.length} of ${length} bytes`);
    if (into === undefined) return bytes;
    into.set(bytes);
    return into.subarray(0, length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
