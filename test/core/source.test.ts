// One checkpoint reader, three places the files come from: a folder (DirSource), a URL served by
// `llava-st serve` (HttpSource, Range requests) and Blobs (BlobSource, files dropped in a page).
// The same fixture gives the same tensors and bytes through each, a broken checkpoint the same typed
// error (tensor and message; the file named as that source names it), and reads stay bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobSource } from '../../src/core/blob_source.js';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { DirSource } from '../../src/core/dir_source.js';
import { SafetensorsError } from '../../src/core/errors.js';
import { HttpSource } from '../../src/core/http_source.js';
import { encodeSafetensors } from '../../src/core/safetensors.js';
import { SourceError, type ModelSource } from '../../src/core/source.js';
import { loadConfig } from '../../src/model/config.js';
import { parseRange, serve } from '../../src/cli/serve.js';
import { TINY } from '../support/shared.js';

/** The three sources over one folder; `close` stops the server. */
async function sources(dir: string): Promise<{ all: [string, ModelSource][]; close: () => Promise<void>; ranges: number[] }> {
  const served = await serve({ model: dir, port: 0, host: '127.0.0.1', webRoot: dir });
  const ranges: number[] = [];
  const counting: typeof fetch = async (url, init) => {
    const r = /bytes=(\d+)-(\d+)/.exec(String((init?.headers as Record<string, string>)?.['range']));
    if (r) ranges.push(Number(r[2]) - Number(r[1]) + 1);
    return fetch(url, init);
  };
  const blobs = new Map<string, Blob>();
  for (const f of await readdir(dir)) blobs.set(f, new Blob([await readFile(join(dir, f))]));
  return {
    all: [['folder', new DirSource(dir)], ['url', new HttpSource(`${served.url}model`, undefined, counting)], ['blobs', new BlobSource(blobs)]],
    close: () => served.close(),
    ranges,
  };
}

test('the sharded fixture reads the same through a folder, a URL and Blobs, in bounded ranges', async () => {
  const dir = join(TINY, 'checkpoint-sharded');
  const s = await sources(dir);
  try {
    const want = await Checkpoint.open(dir);
    const wantConfig = await loadConfig(dir);
    for (const [kind, source] of s.all) {
      const c = await Checkpoint.fromSource(source);
      assert.deepEqual([...c.entries.keys()], [...want.entries.keys()], kind);
      assert.deepEqual(c.metadata, want.metadata, kind);
      s.ranges.length = 0;
      for (const name of [...c.entries.keys()].slice(0, 12)) {
        const chunks: Uint8Array[] = [];
        for await (const { bytes } of c.readChunks(name, 1000)) chunks.push(bytes.slice());
        assert.deepEqual(Buffer.concat(chunks), Buffer.from(await want.readAll(name)), `${kind} ${name}`);
      }
      // Tensors arrive in ranges no larger than the chunk: a shard is never fetched whole.
      if (kind === 'url') assert.ok(s.ranges.length > 12 && Math.max(...s.ranges) <= 1000, `HTTP ranges up to ${Math.max(...s.ranges)} bytes`);
      const { dir: _d, ...config } = await loadConfig(source);
      const { dir: _w, ...wantRest } = wantConfig;
      assert.deepEqual(config, wantRest, `${kind}: config`);
      await c.close();
      await source.close();
    }
    await want.close();
  } finally {
    await s.close();
  }
});

test('a broken sharded checkpoint gives the same typed error through every source', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sources-'));
  const A = 'model-00001-of-00002.safetensors', B = 'model-00002-of-00002.safetensors';
  const shard = (names: string[]) => encodeSafetensors(names.map((name) => ({ name, dtype: 'F32' as const, shape: [1], data: new Uint8Array(4) })));
  const cases: [string, () => Promise<void>, string | undefined, string, RegExp][] = [
    ['missing shard', async () => { await rm(join(dir, B), { force: true }); }, 'z', B, /does not exist/],
    ['listed under another shard', async () => { await writeFile(join(dir, B), shard(['z', 'y'])); }, 'y', B, /also in shard|listed in/],
    ['truncated header', async () => { await writeFile(join(dir, A), shard(['x', 'y']).subarray(0, 20)); }, undefined, A, /runs past the end|too short/],
  ];
  try {
    for (const [what, breakIt, tensor, file, re] of cases) {
      await writeFile(join(dir, A), shard(['x', 'y']));
      await writeFile(join(dir, B), shard(['z']));
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: A, y: A, z: B } }));
      await breakIt();
      const s = await sources(dir);
      try {
        const messages: string[] = [];
        for (const [kind, source] of s.all) {
          await assert.rejects(Checkpoint.fromSource(source), (e: unknown) => {
            assert.ok(e instanceof SafetensorsError, `${what} via ${kind}: ${String(e)}`);
            assert.equal(e.tensor, tensor, `${what} via ${kind}`);
            assert.equal(e.file, source.where(file), `${what} via ${kind}`);
            assert.match(e.message, re, `${what} via ${kind}`);
            messages.push(e.message.slice(e.file.length));
            return true;
          });
          await source.close();
        }
        assert.equal(new Set(messages).size, 1, `${what}: one message whatever the source: ${messages.join(' | ')}`);
      } finally {
        await s.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('HttpSource: a missing file, a server without Range support and an unreachable server are clear SourceErrors', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/m/config.json') { res.writeHead(200, { 'content-length': 2 }).end('{}'); return; }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  try {
    const src = new HttpSource(`http://127.0.0.1:${port}/m/`);
    assert.equal(await src.size('model.safetensors'), undefined);
    await assert.rejects(src.size('config.json'), (e: unknown) => e instanceof SourceError && /ignores Range requests/.test(e.message) && e.file.endsWith('/m/config.json'));
    await assert.rejects(Checkpoint.fromSource(src), (e: unknown) => e instanceof SafetensorsError && /neither model\.safetensors nor/.test(e.message));
    assert.throws(() => new HttpSource('file:///etc/'), (e: unknown) => e instanceof SourceError && /http: or https:/.test(e.message));
  } finally {
    await new Promise<void>((ok) => server.close(() => ok()));
  }
  const gone = new HttpSource(`http://127.0.0.1:${port}/m/`);
  await assert.rejects(gone.size('config.json'), (e: unknown) => e instanceof SourceError && /cannot fetch/.test(e.message));
});

test('serve: Range headers as RFC 9110 reads them, and nothing outside the model folder', async () => {
  assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  assert.deepEqual(parseRange('bytes=4-', 10), { start: 4, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  assert.equal(parseRange('bytes=10-12', 10), undefined);
  assert.equal(parseRange('bytes=0-1,3-4', 10), null);
  assert.equal(parseRange(undefined, 10), null);
  const dir = join(TINY, 'checkpoint');
  const s = await serve({ model: dir, port: 0, host: '127.0.0.1', webRoot: dir });
  try {
    const r = await fetch(`${s.url}model/config.json`, { headers: { range: 'bytes=2-5' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 2-5/${(await readFile(join(dir, 'config.json'))).length}`);
    assert.equal(await r.text(), (await readFile(join(dir, 'config.json'), 'utf8')).slice(2, 6));
    assert.equal((await fetch(`${s.url}model/config.json`, { headers: { range: 'bytes=99999999-' } })).status, 416);
    for (const p of ['model/..%2F..%2Fcheckpoint-bf16%2Fconfig.json', 'model/%2e%2e', 'model/a/b', 'etc/passwd']) {
      assert.equal((await fetch(`${s.url}${p}`)).status, 404, p);
    }
  } finally {
    await s.close();
  }
});
