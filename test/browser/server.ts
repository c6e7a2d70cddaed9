// A tiny static server for the browser test: loopback only, ephemeral port. It serves the compiled
// library under /dist/ and the test page /test/browser/page.html from the repository root, and
// takes the page's JSON result as a POST to /result (the first one wins; later ones are ignored).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

const MAX_POST_BYTES = 16 * 1024 * 1024;

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** Resolves with the parsed body of the first POST /result (or a {ok:false} object if it is not JSON). */
  readonly result: Promise<unknown>;
  /** Request log ("GET /dist/... 200"), for failure messages. */
  readonly log: string[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with an ephemeral port. `root` is the repository root. */
export async function startServer(root: string): Promise<TestServer> {
  const base = resolve(root);
  const allowed = [resolve(base, 'dist') + sep, resolve(base, 'test', 'browser') + sep];
  const log: string[] = [];
  let deliver!: (v: unknown) => void;
  const result = new Promise<unknown>((r) => { deliver = r; });
  let delivered = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void => {
      log.push(`${req.method} ${url.pathname} ${status}`);
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_POST_BYTES) { send(413, 'too large'); req.destroy(); return; }
        chunks.push(c);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let value: unknown;
      try { value = JSON.parse(text); } catch { value = { ok: false, error: `the page posted a body that is not JSON: ${text.slice(0, 500)}` }; }
      send(204, '');
      if (!delivered) { delivered = true; deliver(value); }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'method not allowed'); return; }
    if (url.pathname === '/favicon.ico') { send(204, ''); return; }
    const file = resolve(base, '.' + decodeURIComponent(url.pathname));
    if (!allowed.some((dir) => file.startsWith(dir))) { send(403, 'forbidden'); return; }
    try {
      const body = await readFile(file);
      send(200, body, TYPES[extname(file)] ?? 'application/octet-stream');
    } catch {
      send(404, `not found: ${url.pathname}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) { res.writeHead(500); res.end(String(e)); }
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => { server.off('error', fail); ok(); });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the test server has no TCP address');
  return {
    origin: `http://127.0.0.1:${addr.port}`,
    result,
    log,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
