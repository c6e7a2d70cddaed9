// The image case of set A end to end on checkpoint/ (f32): every golden stage tensor, the greedy
// ids, teacher-forced step logits; KV-cache decoding equals full recomputation; repeated
// generation does not grow GPU memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scope } from '../../src/core/registry.js';
import { Tensor } from '../../src/core/tensor.js';
import { LlavaSt } from '../../src/model/llava_st.js';
import { Qwen2Model } from '../../src/model/qwen2.js';
import type { WeightSource } from '../../src/nn/weights.js';
import { TOLERANCES, loadFixtureCase, runCase, compare } from '../../src/model/golden.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();
const model = await LlavaSt.load(gpu, join(TINY, 'checkpoint'));
const image = await loadFixtureCase(TINY, 'image');

test('image: every golden tensor within 1e-4 + 1e-4·|ref|, greedy ids exact', async () => {
  const r = await runCase(model, image);
  const failed = r.rows.filter((x) => !x.pass).map((x) => `${x.name}: max_abs ${x.maxAbs} ${x.note ?? ''}`);
  assert.deepEqual(failed, []);
  assert.ok(r.rows.some((x) => x.name === 'vision_hidden_states') && r.rows.some((x) => x.name === 'decoder_hidden_states'));
  assert.deepEqual(r.ids, [161, 386, 144, 161, 386, 144, 161, 386]);
});

test('KV-cache decoding equals a full recomputation of prompt + generated ids', async () => {
  const g = await model.generate(image.prompt, { maxNewTokens: 6, eos: [], returnStepLogits: true });
  const ids = [...image.prompt.ids, ...g.ids.slice(0, 5)];
  const full = await model.forward({ ...image.prompt, ids }, { logits: 'all' });
  const all = (await full.toArray()) as Float32Array;
  full.dispose();
  const W = model.config.logitsWidth, S = image.prompt.ids.length;
  for (let i = 0; i < 6; i++) {
    const row = all.subarray((S - 1 + i) * W, (S + i) * W);
    const c = compare(`step ${i}`, [W], g.stepLogits![i]!, row, TOLERANCES.f32.logits);
    assert.ok(c.pass, `step ${i}: max_abs ${c.maxAbs}`);
  }
});

test('50 generations do not grow live GPU memory', async () => {
  const text = { ids: image.prompt.ids.slice(0, 13) };   // no media: the decode loop is what is measured
  await model.generate(image.prompt, { maxNewTokens: 4, eos: [] });
  await model.generate(text, { maxNewTokens: 8, eos: [] });
  const before = gpu.tensors.liveBytes;
  for (let i = 0; i < 50; i++) await model.generate(i % 10 === 0 ? image.prompt : text, { maxNewTokens: 8, eos: [] });
  assert.equal(gpu.tensors.liveBytes, before);
});

test('eos stops generation and onToken sees every id', async () => {
  const seen: number[] = [];
  const g = await model.generate(image.prompt, { maxNewTokens: 8, eos: [144], onToken: (id) => seen.push(id) });
  assert.deepEqual(g.ids, [161, 386, 144]);
  assert.equal(g.stopped, 'eos');
  assert.deepEqual(seen, g.ids);
});

test('the decoder used before prepare() is a StateError, not a shape problem', () => {
  scope(() => {
    const zeros: WeightSource = {
      take: (name, shape) => Tensor.zeros(gpu, shape, 'f32', name),
      takeRows: (name, shape, start, end) => Tensor.zeros(gpu, [end - start, ...shape.slice(1)], 'f32', name),
      takeWeight: (name, shape) => Tensor.zeros(gpu, shape, 'f32', name),
    };
    const decoder = new Qwen2Model(zeros, model.config.text, model.coords);
    assert.throws(() => decoder.embed(Int32Array.of(0)), (e: Error) => e.name === 'StateError' && e.message.includes('prepare()'));
  });
});
