// WeightStore: streaming upload in bounded chunks, dtype policy, row splits, typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { WeightError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { SplitWeight } from '../../src/ops/linear.js';
import { WeightStore } from '../../src/nn/weights.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();
const EMBED = 'model.embed_tokens.weight';
const IN_PROJ = 'model.vision_resampler.token_packer.devide_attention.attn.in_proj_weight';

async function reference(name: string): Promise<Float32Array> {
  const ck = await Checkpoint.open(join(TINY, 'checkpoint'));
  try {
    const b = await ck.readAll(name);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  } finally { await ck.close(); }
}

const bf16Round = (x: Float32Array) => {
  const u = new Uint32Array(Float32Array.from(x).buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
};

test('F32 and sharded checkpoints: tiny chunks, row ranges and forced splits reproduce the file exactly', async () => {
  const want = await reference(EMBED);            // [128, 64]
  const inProj = await reference(IN_PROJ);        // [144, 48]
  for (const dir of ['checkpoint', 'checkpoint-sharded']) {
    const ck = await Checkpoint.open(join(TINY, dir));
    // 1000-byte chunks cross row and part boundaries; 5000-byte bindings force a SplitWeight.
    const store = new WeightStore(gpu, ck, { chunkBytes: 1000, maxBindingBytes: 5000 });
    const embed = store.takeWeight(EMBED, [128, 64]);
    const k = store.takeRows(IN_PROJ, [144, 48], 48, 96);
    await store.load();
    assert.ok(embed instanceof SplitWeight && embed.parts.length > 1, 'split into row chunks');
    const parts = await Promise.all((embed as SplitWeight).parts.map((p) => (p as Tensor).toArray()));
    assert.deepEqual(Float32Array.from(parts.flatMap((p) => [...p])), want);
    assert.deepEqual(await k.toArray(), inProj.subarray(48 * 48, 96 * 48));
    assert.ok(store.unused().includes('lm_head.weight'));
    assert.ok(!store.unused().some((n) => n.includes('token_packer_fast') || n.includes('post_layernorm')));
    assert.ok(store.unusedByDesign().length > 0);
    store.dispose();
    await ck.close();
  }
});

test('BF16 checkpoint is widened on the GPU: equals the F32 weights rounded to bf16', async () => {
  const ck = await Checkpoint.open(join(TINY, 'checkpoint-bf16'));
  const store = new WeightStore(gpu, ck, { chunkBytes: 1000 });
  const t = store.take(EMBED, [128, 64]);
  const rows = store.takeRows(IN_PROJ, [144, 48], 96, 144);
  await store.load();
  assert.deepEqual(await t.toArray(), bf16Round(await reference(EMBED)));
  assert.deepEqual(await rows.toArray(), bf16Round(await reference(IN_PROJ)).subarray(96 * 48));
  store.dispose();
  await ck.close();
});

test('missing names, shape mismatches and unused-by-design tensors are WeightErrors naming the tensor', async () => {
  const ck = await Checkpoint.open(join(TINY, 'checkpoint'));
  const store = new WeightStore(gpu, ck);
  assert.throws(() => store.take('model.layers.9.mlp.up_proj.weight', [128, 64]),
    (e: unknown) => e instanceof WeightError && /model\.layers\.9\.mlp\.up_proj\.weight/.test(e.message));
  assert.throws(() => store.take(EMBED, [129, 64]),
    (e: unknown) => e instanceof WeightError && e.message.includes(EMBED) && e.message.includes('[128, 64]') && e.message.includes('[129, 64]'));
  assert.throws(() => store.take('model.vision_resampler.token_packer_fast.devide_attention.to_out.weight', [64, 48]), WeightError);
  const before = gpu.tensors.liveBytes;
  store.dispose();
  assert.ok(gpu.tensors.liveBytes <= before);
  await ck.close();
  void Tensor;
});
