// `llava-st serve`: the page (dist/web, built by `npm run build`) and a model folder over HTTP, on
// loopback unless told otherwise. The model's files are served with Range requests (206 Partial
// Content), which is how the page streams multi-GB shards into GPU memory in bounded chunks.
//   /                the page          /assets/*   its scripts and styles
//   /model/NAME      a file of the model folder (plain names only: no sub-folders, no "..")
//   /samples/NAME    the demo samples (when the model folder has samples/)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../core/errors.js';
import { isPlainFileName } from '../core/source.js';
import { DEFAULT_MODEL } from './run.js';

export const WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
export const DEFAULT_PORT = 8080;

const HELP = `usage: llava-st serve [--model DIR] [--port N] [--host ADDR]
  --model DIR   the checkpoint folder to serve at /model/ (default: the demo model)
  --port N      TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR   address to listen on (default 127.0.0.1: this machine only)
Opens nothing: visit the printed URL. ?model=URL on the page loads another model.`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.mp4': 'video/mp4', '.webm': 'video/webm',
};

export interface ServeOptions { model: string; port: number; host: string; webRoot?: string; log?: (line: string) => void }
export interface Serving { url: string; server: Server; close(): Promise<void> }

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size; undefined: not satisfiable; null: no usable header. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or malformed: answer with the whole file
  let start: number, end: number;
  if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1; }
  else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
  if (start >= size || start > end) return undefined;
  return { start, end };
}

async function sendFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<number> {
  let s;
  try { s = await stat(path); } catch { s = undefined; }
  if (!s?.isFile()) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return 404; }
  const headers: Record<string, string | number> = {
    'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'accept-ranges': 'bytes', 'cache-control': 'no-cache', 'last-modified': s.mtime.toUTCString(),
  };
  const range = parseRange(req.headers.range, s.size);
  if (range === undefined) {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${s.size}` }).end();
    return 416;
  }
  const { start, end } = range ?? { start: 0, end: s.size - 1 };
  const status = range ? 206 : 200;
  res.writeHead(status, { ...headers, 'content-length': Math.max(0, end - start + 1), ...(range ? { 'content-range': `bytes ${start}-${end}/${s.size}` } : {}) });
  if (req.method === 'HEAD' || s.size === 0) { res.end(); return status; }
  await new Promise<void>((ok) => {
    const stream = createReadStream(path, { start, end, highWaterMark: 1 << 20 });
    stream.on('error', () => { res.destroy(); ok(); });
    res.on('close', () => { stream.destroy(); ok(); });
    stream.pipe(res);
  });
  return status;
}

/** Starts the server; resolves once it listens. */
export async function serve(opts: ServeOptions): Promise<Serving> {
  const model = resolve(opts.model);
  const web = opts.webRoot ?? WEB_ROOT;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return 405; }
    let path: string;
    try { path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname); } catch { res.writeHead(400).end(); return 400; }
    const [, top = '', name = '', ...rest] = path.split('/');
    if (path === '/' || path === '/index.html') return sendFile(req, res, join(web, 'index.html'));
    if (path === '/favicon.ico') { res.writeHead(204).end(); return 204; }
    if (rest.length === 0 && isPlainFileName(name)) {
      if (top === 'model') return sendFile(req, res, join(model, name));
      if (top === 'samples') return sendFile(req, res, join(model, 'samples', name));
      if (top === 'assets') return sendFile(req, res, join(web, 'assets', name));
    }
    if (path === '/style.css') return sendFile(req, res, join(web, 'style.css'));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return 404;
  };
  const server = createServer((req, res) => {
    handle(req, res).then((status) => opts.log?.(`${req.method} ${req.url} ${status}${req.headers.range ? ` (${req.headers.range})` : ''}`),
      (e: unknown) => { if (!res.headersSent) res.writeHead(500).end(String(e)); else res.destroy(); });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => { server.off('error', fail); ok(); });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the server has no TCP address');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`, server,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

export async function serveMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  const model = values.model ?? DEFAULT_MODEL;
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new InputError(`--port ${values.port}: expected a port number 0..65535`);
  const cfg = await stat(join(model, 'config.json')).catch(() => undefined);
  if (!cfg?.isFile()) throw new InputError(`--model ${model}: no config.json there (a LLaVA-ST checkpoint folder is needed)`);
  const index = await stat(join(WEB_ROOT, 'index.html')).catch(() => undefined);
  if (!index) throw new InputError(`${WEB_ROOT}: the page is not built; run npm run build`);
  const host = values.host ?? '127.0.0.1';
  let s: Serving;
  try {
    s = await serve({ model, port, host });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new InputError(`port ${port} on ${host} is in use: pick another with --port N (0: any free one)`);
    throw e;
  }
  console.log(`llava-st serve: open ${s.url} (model ${resolve(model)} at ${s.url}model/; Ctrl-C stops)`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') console.log(`note: listening on ${host}: other machines can reach the page and the model files`);
  await new Promise<void>((ok) => {
    const stop = (): void => { void s.close().then(ok); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
