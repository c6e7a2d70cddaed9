// Model files under a base URL, read with HTTP Range requests (works in pages and in Node 18+).
// `llava-st serve` serves a folder this way; so does any static server or the Hugging Face hub
// (https://huggingface.co/ORG/REPO/resolve/main/).

import { SourceError, checkRead, isPlainFileName, type ModelSource } from './source.js';

export class HttpSource implements ModelSource {
  readonly label: string;
  private readonly base: URL;
  private readonly sizes = new Map<string, Promise<number | undefined>>();
  private closed = false;

  /** `base`: the folder's URL (a trailing slash is added); relative URLs resolve against `relativeTo`. */
  constructor(base: string, relativeTo?: string, private readonly fetchFn: typeof fetch = globalThis.fetch.bind(globalThis)) {
    let url: URL;
    try {
      url = new URL(base, relativeTo);
    } catch {
      throw new SourceError(base, 'is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SourceError(base, `is a ${url.protocol} URL; http: or https: is needed`);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.search = '';
    url.hash = '';
    this.base = url;
    this.label = url.href;
  }

  where(name: string): string {
    return new URL(encodeURIComponent(name), this.base).href;
  }

  /** One ranged GET of the first byte: the total comes back in Content-Range, and a 404 means absent. */
  size(name: string): Promise<number | undefined> {
    let s = this.sizes.get(name);
    if (s === undefined) {
      s = this.probe(name);
      this.sizes.set(name, s);
      s.catch(() => this.sizes.delete(name));
    }
    return s;
  }

  async read(name: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const url = this.where(name);
    checkRead(url, position, length, into);
    const out = into ?? new Uint8Array(length);
    if (length === 0) return out.subarray(0, 0);
    const res = await this.get(name, `bytes=${position}-${position + length - 1}`);
    if (res.status === 404) throw new SourceError(url, 'not found (HTTP 404)');
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new SourceError(url, `the server answered a Range request with HTTP ${res.status}, not 206: it must support Range requests`);
    }
    const range = parseContentRange(res.headers.get('content-range'));
    if (range !== undefined && range.start !== position) {
      await res.body?.cancel();
      throw new SourceError(url, `asked for bytes from ${position}, the server sent them from ${range.start}`);
    }
    // Streamed into `out` chunk by chunk: no second copy of the range is held.
    let got = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, length - got);
      out.set(value.subarray(0, take), got);
      got += take;
      if (got === length) { await reader.cancel(); break; }
    }
    if (got < length) throw new SourceError(url, `the file ended at byte ${position + got}, expected ${length - got} more (changed on the server?)`);
    return out.subarray(0, length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async probe(name: string): Promise<number | undefined> {
    const url = this.where(name);
    const res = await this.get(name, 'bytes=0-0');
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (range?.total === undefined) throw new SourceError(url, 'the server sent no total size in Content-Range');
      return range.total;
    }
    if (res.status === 416) return 0; // an empty file has no byte 0
    if (res.status === 200) {
      throw new SourceError(url, 'the server ignores Range requests (HTTP 200 to a ranged GET): weights cannot be streamed from it');
    }
    throw new SourceError(url, `HTTP ${res.status} ${res.statusText}`.trim());
  }

  private async get(name: string, range: string): Promise<Response> {
    const url = this.where(name);
    if (!isPlainFileName(name)) throw new SourceError(url, 'is not a plain file name');
    if (this.closed) throw new SourceError(url, 'read after close()');
    try {
      // no-store: a cached 200 of the whole file must not answer a ranged request.
      return await this.fetchFn(url, { headers: { range }, cache: 'no-store' });
    } catch (e) {
      throw new SourceError(url, `cannot fetch (${(e as Error).message}; is the server running, and does it allow this origin?)`, { cause: e });
    }
  }
}

function parseContentRange(v: string | null): { start: number; total: number | undefined } | undefined {
  const m = v === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}
