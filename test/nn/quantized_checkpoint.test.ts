// A quantized checkpoint (nn/quantized_checkpoint): written once, it loads the same codes without
// quantizing again (the same logits as quantizing at load), and a missing scale tensor is a typed
// error naming it, in the plan and in the loader, before any weight is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, copyFileSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { encodeSafetensors } from '../../src/core/safetensors.js';
import { scope } from '../../src/core/registry.js';
import { LlavaSt } from '../../src/model/llava_st.js';
import { loadFixtureCase } from '../../src/model/golden.js';
import { readCheckpointFacts } from '../../src/model/plan.js';
import { QGROUPS, writeQuantizedCheckpoint } from '../../src/nn/quantized_checkpoint.js';
import { WeightStore } from '../../src/nn/weights.js';
import { QuantTensor } from '../../src/ops/quant_linear.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();
const CKPT = join(TINY, 'checkpoint');
const out = mkdtempSync(join(tmpdir(), 'qckpt-'));

async function lastLogits(dir: string, weights?: { format: 'q8' | 'q4'; group: number }): Promise<Float32Array> {
  const model = await LlavaSt.load(gpu, dir, { dtype: 'f32', ...(weights ? { weights } : {}) });
  try {
    const c = await loadFixtureCase(TINY, 'image');
    const y = await model.forward(c.prompt, { logits: 'last' });
    const a = await y.toArray() as Float32Array;
    y.dispose();
    return a;
  } finally { model.dispose(); }
}

test('a q4 and a q8 checkpoint load as stored: the same logits as quantizing at load, and quantized weights on the GPU', async () => {
  for (const format of ['q4', 'q8'] as const) {
    const dir = join(out, format);
    mkdirSync(dir);
    await writeQuantizedCheckpoint(gpu, CKPT, dir, { format, group: 32, compute: 'f32' });
    const ck = await Checkpoint.open(dir);
    assert.ok([...ck.entries.keys()].some((n) => n.endsWith('.qcodes')) && ck.entries.get('model.layers.0.mlp.up_proj.weight') === undefined);
    const store = new WeightStore(gpu, ck, { dtype: 'f32' });
    const w = store.takeWeight('model.layers.0.mlp.up_proj.weight', [128, 64]);
    assert.ok(w instanceof QuantTensor && w.format === format);
    store.dispose();
    await ck.close();
    assert.deepEqual(await lastLogits(dir), await lastLogits(CKPT, { format, group: 32 }), `${format}: stored vs quantized at load`);
  }
});

test('a quantized checkpoint without a scale tensor: a typed error naming it, from the plan and from the loader', async () => {
  const src = await Checkpoint.open(join(out, 'q4'));
  const victim = 'model.layers.1.mlp.down_proj.weight';
  const tensors = [];
  for (const [name, e] of src.entries) if (name !== victim + QGROUPS) tensors.push({ name, dtype: e.dtype, shape: [...e.shape], data: await src.readAll(name) });
  const metadata = Object.fromEntries(Object.entries(src.metadata).map(([k, v]) => [k, String(v)]));
  await src.close();
  const dir = join(out, 'broken');
  mkdirSync(dir);
  for (const f of readdirSync(join(out, 'q4'))) if (f.endsWith('.json')) copyFileSync(join(out, 'q4', f), join(dir, f));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, metadata));
  const names = (e: Error) => e.name === 'WeightError' && e.message.includes(victim + QGROUPS) && e.message.includes('scale');
  await assert.rejects(readCheckpointFacts(dir), names);
  const before = gpu.tensors.liveBytes;
  await assert.rejects(LlavaSt.load(gpu, dir, { dtype: 'f32' }), names);
  assert.equal(gpu.tensors.liveBytes, before, 'nothing left allocated');
  void scope;
});
