// Checkpoint: single, sharded and BF16 fixtures agree; every index/shard inconsistency is typed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { SafetensorsError } from '../../src/core/errors.js';
import { encodeSafetensors } from '../../src/core/safetensors.js';

const TINY = '../shared/fixtures/llava-st-tiny';

async function withCheckpoint<T>(path: string, fn: (c: Checkpoint) => Promise<T>): Promise<T> {
  const c = await Checkpoint.open(path);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

const shapesOf = (c: Checkpoint) => new Map([...c.entries].map(([n, e]) => [n, e.shape]));

test('the three fixture checkpoints list the same 159 tensors with the same shapes', async () => {
  const single = await withCheckpoint(`${TINY}/checkpoint`, async (c) => {
    assert.equal(c.files.length, 1);
    assert.ok([...c.entries.values()].every((e) => e.dtype === 'F32'));
    return shapesOf(c);
  });
  assert.equal(single.size, 159);
  await withCheckpoint(`${TINY}/checkpoint-sharded`, async (c) => {
    assert.equal(c.files.length, 2);
    assert.equal(c.metadata.total_size, 1089408);
    assert.deepEqual(shapesOf(c), single);
  });
  await withCheckpoint(`${TINY}/checkpoint-bf16`, async (c) => {
    assert.ok([...c.entries.values()].every((e) => e.dtype === 'BF16'));
    assert.deepEqual(new Map([...shapesOf(c)].sort()), new Map([...single].sort()));
  });
});

test('sharded and single give byte-identical data for every tensor', async () => {
  const single = await Checkpoint.open(`${TINY}/checkpoint/model.safetensors`);
  const sharded = await Checkpoint.open(`${TINY}/checkpoint-sharded/model.safetensors.index.json`);
  try {
    let bytes = 0;
    for (const name of single.entries.keys()) {
      const a = await single.readAll(name);
      const parts: Uint8Array[] = [];
      for await (const { bytes: chunk } of sharded.readChunks(name, 4096)) parts.push(chunk.slice());
      assert.deepEqual(Buffer.concat(parts), Buffer.from(a), name);
      bytes += a.length;
    }
    assert.equal(bytes, 1089408);
  } finally {
    await Promise.all([single.close(), sharded.close()]);
  }
});

test('synth checkpoint opens from its directory', async () => {
  await withCheckpoint('../shared/models/llava-st-synth', async (c) => assert.equal(c.entries.size, 139));
});

/** A sharded checkpoint in a temp dir: shard name -> tensor names (4 bytes each), and an index. */
async function writeSharded(dir: string, shards: Record<string, string[]>, index: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [shard, names] of Object.entries(shards)) {
    await writeFile(join(dir, shard), encodeSafetensors(names.map((name) => ({ name, dtype: 'F32', shape: [1], data: new Uint8Array(4) }))));
  }
  const path = join(dir, 'model.safetensors.index.json');
  await writeFile(path, typeof index === 'string' ? index : JSON.stringify(index));
  return path;
}

test('index/shard inconsistencies are SafetensorsErrors naming file and tensor', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ckpt-'));
  const A = 'model-00001-of-00002.safetensors';
  const B = 'model-00002-of-00002.safetensors';
  const shards = { [A]: ['x', 'y'], [B]: ['z'] };
  const map = { x: A, y: A, z: B };
  const cases: [string, Record<string, string[]>, unknown, string | undefined, string | undefined, RegExp][] = [
    ['missing shard', { [A]: ['x', 'y'] }, { weight_map: map }, B, 'z', /does not exist/],
    ['in index, not in shard', { [A]: ['x'], [B]: ['z'] }, { weight_map: map }, A, 'y', /missing from its shard/],
    ['in shard, not in index', shards, { weight_map: { x: A, z: B } }, A, 'y', /not listed in/],
    ['listed under another shard', shards, { weight_map: { ...map, y: B } }, A, 'y', /listed in .* under shard model-00002/],
    ['in two shards', { [A]: ['x', 'y'], [B]: ['y', 'z'] }, { weight_map: map }, B, 'y', /also in shard model-00001/],
    ['total_size wrong', shards, { metadata: { total_size: 13 }, weight_map: map }, 'model.safetensors.index.json', undefined, /total_size is 13 but .* 12 bytes/],
    ['total_size not a number', shards, { metadata: { total_size: '12' }, weight_map: map }, 'model.safetensors.index.json', undefined, /total_size "12"/],
    ['path in weight_map', shards, { weight_map: { ...map, z: `../${B}` } }, 'model.safetensors.index.json', 'z', /not a shard file name/],
    ['no weight_map', shards, { metadata: {} }, 'model.safetensors.index.json', undefined, /weight_map/],
    ['duplicate name in index', shards, `{"weight_map":{"x":"${A}","y":"${A}","z":"${B}","x":"${B}"}}`, 'model.safetensors.index.json', 'x', /duplicate key "x"/],
  ];
  try {
    let i = 0;
    for (const [what, sh, index, file, tensor, re] of cases) {
      const dir = join(root, String(i++));
      await writeSharded(dir, sh, index);
      await assert.rejects(Checkpoint.open(dir), (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, `${what}: ${String(e)}`);
        assert.equal(e.file, file === undefined ? undefined : join(dir, file), what);
        assert.equal(e.tensor, tensor, what);
        assert.match(e.message, re, what);
        return true;
      });
    }
    const ok = await writeSharded(join(root, 'ok'), shards, { metadata: { total_size: 12 }, weight_map: map });
    await withCheckpoint(ok, async (c) => assert.deepEqual([...c.entries.keys()], ['x', 'y', 'z']));
    await assert.rejects(Checkpoint.open(join(root, 'nothing-here')), (e) => e instanceof SafetensorsError && /cannot open/.test(e.message));
    await mkdir(join(root, 'empty'));
    await assert.rejects(Checkpoint.open(join(root, 'empty')), (e) => e instanceof SafetensorsError && /neither/.test(e.message));
    await withCheckpoint(ok, async (c) => {
      await assert.rejects(c.readAll('w'), (e) => e instanceof SafetensorsError && e.tensor === 'w' && /no such tensor/.test(e.message));
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
