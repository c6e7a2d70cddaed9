// Swappable stages (model/stages.ts): a replacement with the built-in's contract gives the same
// answer; one that breaks the contract is refused at load with a StageError naming it. And the
// documented tap names (model/tap_names.ts) are exactly the ones the forward captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tensor } from '../../src/core/tensor.js';
import { sliceRows } from '../../src/ops/copy.js';
import { LlavaSt } from '../../src/model/llava_st.js';
import { loadFixtureCase } from '../../src/model/golden.js';
import type { StageFactories } from '../../src/model/stages.js';
import { checkTapNames, tapNamesOf } from '../../src/model/tap_names.js';
import { Taps } from '../../src/nn/taps.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();
const dir = join(TINY, 'checkpoint');
const image = await loadFixtureCase(TINY, 'image');

const refused = async (stages: StageFactories, pattern: RegExp) => {
  const before = gpu.tensors.liveBytes;
  await assert.rejects(LlavaSt.load(gpu, dir, { stages }), (e: Error) => e.name === 'StageError' && pattern.test(e.message), String(pattern));
  assert.equal(gpu.tensors.liveBytes, before, 'a refused load frees what it loaded');
};

test('a projector that wraps the built-in one (counting its calls) gives the golden ids', async () => {
  let calls = 0;
  const model = await LlavaSt.load(gpu, dir, {
    stages: { projector: (ctx) => { const p = ctx.builtIn('projector'); return { forward: (x) => { calls++; return p.forward(x); } }; } },
  });
  try {
    assert.deepEqual(model.replaced, ['projector']);
    calls = 0;
    const g = await model.generate(image.prompt, { maxNewTokens: 3, eos: [] });
    assert.deepEqual(g.ids, [161, 386, 144]);
    assert.equal(calls, 1);
  } finally {
    model.dispose();
  }
});

test('a stage that breaks its contract is refused at load, naming the stage, the method and both shapes', async () => {
  await refused({ packer: (ctx) => {
    const p = ctx.builtIn('packer');
    return { spatial: (x, frames, taps) => sliceRows(p.spatial(x, frames, taps), 0, 1), temporal: (y, f, taps) => p.temporal(y, f, taps) };
  } }, /stage packer: spatial returned \[1, \d+\] f32, the contract is \[L, D\] \[\d+, \d+\] f32/);
  await refused({ projector: () => ({ forward: (x: Tensor) => Tensor.zeros(x.gpu, [x.shape[0]!, 3], 'f32') }) }, /stage projector: forward returned \[\d+, 3\]/);
  await refused({ lape: () => ({}) as never }, /stage lape: the replacement has no forwardFrames method/);
  await refused({ packr: () => ({}) } as StageFactories, /unknown stage packr/);
});

test('TAP_NAMES lists exactly what the forward captures (image prompt, every tap asked for)', async () => {
  const model = await LlavaSt.load(gpu, dir);
  const taps = new Taps(() => true);
  try {
    (await model.forward(image.prompt, { taps, logits: 'all' })).dispose();
    assert.deepEqual(new Set(taps.names()), new Set(tapNamesOf(model.config)));
    assert.deepEqual(taps.get('packer.slow').shape, [1, model.config.packer.latents, model.config.text.hidden_size]);
    assert.throws(() => checkTapNames(['packer.slow', 'vision.layers.99', 'packr'], model.config),
      (e: Error) => e.name === 'InputError' && /"vision.layers.99", "packr"/.test(e.message));
  } finally {
    taps.dispose();
    model.dispose();
  }
});
