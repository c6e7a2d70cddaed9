// WeightStore: streaming upload in bounded chunks, dtype policy, row splits, quantizing while
// streaming, typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { bf16BitsToF32 } from '../../src/core/dtype.js';
import { WeightError } from '../../src/core/errors.js';
import { dequantizeGroups, QUANT_BITS, type QuantFormat } from '../../src/core/quant.js';
import { QuantTensor } from '../../src/ops/quant_linear.js';
import { Tensor } from '../../src/core/tensor.js';
import { SplitWeight } from '../../src/ops/linear.js';
import { storageOf } from '../../src/nn/weight_format.js';
import { UNUSED_BY_DESIGN, WeightStore } from '../../src/nn/weights.js';
import { testGpu } from '../support/gpu.js';
import { sharedPath, TINY } from '../support/shared.js';

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

test('q8 and q4 at load, on the demo model (bf16, trained): every quantized weight, the split head included, dequantizes to its checkpoint values within half a step', async () => {
  // Groups of 16 quantize every Linear weight of the demo model (hidden 48); 1 MiB chunks cross
  // rows of every large tensor, and 1 MiB bindings split lm_head [151660, 48] into row parts.
  const ck = await Checkpoint.open(sharedPath('models/llava-st-synth'));
  try {
    for (const format of ['q8', 'q4'] as QuantFormat[]) {
      const layout = { format, group: 16 };
      const store = new WeightStore(gpu, ck, { layout, chunkBytes: (1 << 20) + 96, maxBindingBytes: 1 << 20 });
      const taken = [...ck.entries].filter(([name, e]) => !UNUSED_BY_DESIGN.some((p) => p.test(name)) && storageOf(name, e.shape, { ...layout, compute: 'f32' }).kind === 'quant')
        .map(([name, e]) => ({ name, shape: e.shape, w: store.takeWeight(name, e.shape) }));
      await store.load();
      assert.ok(taken.length >= 20, `${taken.length} quantized weights`);
      assert.ok(taken.some(({ w }) => w instanceof SplitWeight && w.parts.length > 1), 'lm_head is split into row parts');
      const levels = (1 << QUANT_BITS[format]) - 1;
      for (const { name, shape, w } of taken) {
        assert.equal(ck.entries.get(name)!.dtype, 'BF16', name);
        const raw = await ck.readAll(name, 1 << 30);
        const src = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        let r0 = 0;
        for (const part of w instanceof SplitWeight ? w.parts : [w]) {
          assert.ok(part instanceof QuantTensor, `${name}: quantized`);
          const [n, K] = part.shape;
          const got = dequantizeGroups(await part.codes.read() as Uint32Array, await part.groups.read() as Uint32Array, n * K, format, 16);
          for (let a = 0; a < n * K; a += 16) {
            let lo = Infinity, hi = -Infinity;
            for (let i = a; i < a + 16; i++) { const v = bf16BitsToF32(src[r0 * K + i]!); lo = Math.min(lo, v); hi = Math.max(hi, v); }
            const step = (hi - lo) / levels;
            // As quantizeGroups' own bound (test/ops/quant_linear): half a step, plus the f16 rounding of scale and offset.
            const bound = step * (0.5 + levels * 2 ** -11) + Math.abs(lo) * 2 ** -11 + (levels + 1) * 2 ** -25;
            for (let i = a; i < a + 16; i++) {
              const v = bf16BitsToF32(src[r0 * K + i]!);
              if (!(Math.abs(got[i]! - v) <= bound)) assert.fail(`${format} ${name} [${shape}] row ${r0 + Math.floor(i / K)} col ${i % K}: ${got[i]} vs ${v} (bound ${bound})`);
            }
          }
          r0 += n;
        }
        assert.equal(r0, shape[0], `${name}: the parts cover every row`);
      }
      store.dispose();
    }
  } finally { await ck.close(); }
});
