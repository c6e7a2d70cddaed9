// SafetensorsFile against the shared fixtures, plus chunked reading and file-level failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SafetensorsError } from '../../src/core/errors.js';
import { SafetensorsFile, encodeSafetensors } from '../../src/core/safetensors.js';

const TINY = '../shared/fixtures/llava-st-tiny';
const SYNTH = '../shared/models/llava-st-synth/model.safetensors';

/** torch's float32 -> bfloat16: round to nearest, ties to even (NaN would be kept quiet; none here). */
function f32ToBf16(bits: number): number {
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

test('tiny F32 checkpoint: 159 tensors, format pt, header in data order', async () => {
  const f = await SafetensorsFile.open(`${TINY}/checkpoint/model.safetensors`);
  try {
    assert.equal(f.entries.size, 159);
    assert.equal(f.metadata.format, 'pt');
    const e = f.entry('model.embed_tokens.weight');
    assert.deepEqual([e.dtype, e.shape, e.byteLength], ['F32', [128, 64], 128 * 64 * 4]);
    assert.deepEqual(f.entry('model.vision_resampler.token_packer.devide_attention.attn.in_proj_weight').shape, [144, 48]);
  } finally {
    await f.close();
  }
});

test('synth BF16 checkpoint: 139 tensors, all BF16', async () => {
  const f = await SafetensorsFile.open(SYNTH);
  try {
    assert.equal(f.entries.size, 139);
    assert.ok([...f.entries.values()].every((e) => e.dtype === 'BF16'));
    assert.deepEqual(f.entry('model.embed_tokens.weight').shape, [151660, 48]);
  } finally {
    await f.close();
  }
});

test('BF16 fixture is the F32 fixture rounded to nearest-even, bit for bit', async () => {
  const f32 = await SafetensorsFile.open(`${TINY}/checkpoint/model.safetensors`);
  const bf16 = await SafetensorsFile.open(`${TINY}/checkpoint-bf16/model.safetensors`);
  try {
    assert.deepEqual([...bf16.entries.keys()].sort(), [...f32.entries.keys()].sort());
    let values = 0;
    let differ = 0;
    let ties = 0;
    for (const [name, e] of f32.entries) {
      const b = bf16.entry(name);
      assert.equal(b.dtype, 'BF16');
      assert.deepEqual(b.shape, e.shape);
      const a = new Uint32Array((await f32.readAll(name)).slice().buffer);
      const h = new Uint16Array((await bf16.readAll(name)).slice().buffer);
      for (let i = 0; i < a.length; i++) {
        values++;
        if ((a[i]! & 0xffff) === 0x8000) ties++;
        if (f32ToBf16(a[i]!) !== h[i]) differ++;
      }
    }
    assert.equal(differ, 0, `${differ} of ${values} bf16 values differ from round-to-nearest-even (${ties} ties)`);
  } finally {
    await Promise.all([f32.close(), bf16.close()]);
  }
});

test('f32ToBf16 rounds ties to even and carries into the exponent', () => {
  assert.equal(f32ToBf16(0x3f808000), 0x3f80); // tie, even stays
  assert.equal(f32ToBf16(0x3f818000), 0x3f82); // tie, odd rounds up
  assert.equal(f32ToBf16(0x3f808001), 0x3f81); // above the tie
  assert.equal(f32ToBf16(0x3fffffff), 0x4000); // mantissa overflow into the exponent
});

test('readChunks reassembles every tensor for any chunk size, reusing one buffer', async () => {
  const f = await SafetensorsFile.open(`${TINY}/checkpoint/model.safetensors`);
  try {
    const names = [...f.entries.keys()];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...names), fc.integer({ min: 1, max: 40_000 }), async (name, chunk) => {
      const whole = await f.readAll(name);
      const joined = new Uint8Array(whole.length);
      const buffers = new Set<ArrayBufferLike>();
      let expectOffset = 0;
      for await (const { offset, bytes } of f.readChunks(name, chunk)) {
        assert.equal(offset, expectOffset);
        assert.ok(bytes.length <= Math.max(chunk, 4));
        assert.ok(offset + bytes.length === whole.length || bytes.length % 4 === 0, 'inner chunks are 4-byte multiples');
        joined.set(bytes, offset);
        buffers.add(bytes.buffer);
        expectOffset += bytes.length;
      }
      assert.equal(expectOffset, whole.length);
      assert.deepEqual(joined, whole);
      assert.ok(buffers.size <= 1, 'one buffer per readChunks call');
      const mine = new Uint8Array(chunk + 4); // a caller-owned buffer is filled in place
      const copy: Uint8Array[] = [];
      for await (const { bytes } of f.readChunks(name, mine)) {
        assert.equal(bytes.buffer, mine.buffer);
        copy.push(bytes.slice());
      }
      assert.deepEqual(Buffer.concat(copy), Buffer.from(whole));
    }), { numRuns: 60 });
  } finally {
    await f.close();
  }
});

test('readAll, readChunks and open fail with SafetensorsError naming file and tensor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'st-file-'));
  try {
    const path = join(dir, 'a.safetensors');
    await writeFile(path, encodeSafetensors([
      { name: 'big', dtype: 'F32', shape: [256], data: new Uint8Array(1024) },
      { name: 'small', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    ]));
    const isErr = (tensor: string | undefined, re: RegExp) => (e: unknown) =>
      e instanceof SafetensorsError && e.tensor === tensor && re.test(e.message);
    const f = await SafetensorsFile.open(path);
    assert.deepEqual(await f.readAll('small'), new Uint8Array([1, 2, 3]));
    await assert.rejects(f.readAll('big', 100), isErr('big', /over readAll's cap of 100/));
    await assert.rejects(f.readAll('nope'), isErr('nope', /no such tensor/));
    await assert.rejects(async () => { for await (const _ of f.readChunks('big', 0)); }, isErr('big', /chunk size 0/));
    await assert.rejects(async () => { for await (const _ of f.readChunks('big', new Uint8Array(3))); }, isErr('big', /chunk size 3 .* >= 4/));
    await truncate(path, 8 + 200); // the file shrinks under an open handle
    await assert.rejects(f.readAll('big'), isErr('big', /file ended/));
    await f.close();
    await assert.rejects(f.readAll('small'), isErr('small', /after close/));
    await assert.rejects(SafetensorsFile.open(path), isErr('big', /not inside the data section/));
    await assert.rejects(SafetensorsFile.open(join(dir, 'missing.safetensors')), isErr(undefined, /cannot open/));
    await assert.rejects(SafetensorsFile.open(dir), isErr(undefined, /not a regular file/));
    await writeFile(path, new Uint8Array(5));
    await assert.rejects(SafetensorsFile.open(path), isErr(undefined, /too short/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
