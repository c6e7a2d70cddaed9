// The memory plan (model/plan) and the weight layouts it decides (nn/weight_format): what the plan
// counts is what the loader allocates; 'auto' never picks what does not fit; bad checkpoints and
// adapters get typed errors before any weight is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { chooseLayout, makePlan, readCheckpointFacts, RUNTIME_BYTES, type AdapterFacts } from '../../src/model/plan.js';
import { WeightStore } from '../../src/nn/weights.js';
import { WEIGHT_FORMATS } from '../../src/nn/weight_format.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();
const CKPT = join(TINY, 'checkpoint');
const adapter = (memoryBytes?: number): AdapterFacts => ({
  maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 27, hasF16: true, cpu: true, memorySource: 'test',
  ...(memoryBytes !== undefined ? { memoryBytes } : {}),
});

test('plan: the weight bytes of each format are exactly what the loader allocates', async () => {
  const facts = await readCheckpointFacts(CKPT);
  for (const group of [16, 32]) {
    const plan = makePlan(facts, adapter(2 ** 34), { compute: 'f32', group });
    for (const format of WEIGHT_FORMATS) {
      const planned = plan.fits.find((f) => f.format === format)!.weights;
      const ck = await Checkpoint.open(CKPT);
      const store = new WeightStore(gpu, ck, { dtype: 'f32', layout: { format, group } });
      for (const [name, e] of ck.entries) if (!/token_packer_fast|post_layernorm/.test(name)) (e.shape.length === 2 ? store.takeWeight(name, e.shape) : store.take(name, e.shape));
      const allocated = store.bytes;
      store.dispose();
      await ck.close();
      assert.equal(planned, allocated, `${format}/${group}: plan ${planned} B, store ${allocated} B`);
    }
  }
});

test('plan: quantized formats shrink the decoder; rows the groups do not tile fall back to f16 and are listed', async () => {
  const plan = makePlan(await readCheckpointFacts(CKPT), adapter(2 ** 34), { compute: 'f32', group: 32 });
  const bytes = (f: string) => plan.fits.find((x) => x.format === f)!.weights;
  assert.ok(bytes('f32') > bytes('f16') && bytes('f16') > bytes('q8') && bytes('q8') > bytes('q4'), JSON.stringify(plan.fits.map((f) => [f.format, f.weights])));
  const facts = await readCheckpointFacts(CKPT);
  for (const f of plan.fits.filter((x) => x.format.startsWith('q'))) {
    for (const n of f.fallbacks) assert.notEqual(facts.tensors.get(n)!.shape[1]! % 32, 0, `${n} listed as a fallback`);
  }
  assert.ok(plan.activations.video > plan.activations.image);
});

test('chooseLayout: auto takes the most precise format that fits, a named one is checked, nothing fitting is a typed error', async () => {
  const facts = await readCheckpointFacts(CKPT);
  const probe = makePlan(facts, adapter(2 ** 34), { compute: 'f32', group: 32 });
  const need = (f: string) => probe.fits.find((x) => x.format === f)!.needed;
  // A budget (0.6 of memory) between q8's and f16's needs: auto must pick q8.
  const memory = ((need('q8') + need('f16')) / 2) / 0.6;
  const plan = makePlan(facts, adapter(memory), { compute: 'f32', group: 32 });
  assert.equal(chooseLayout(plan, 'auto').format, 'q8');
  assert.equal(chooseLayout(plan, 'q4').format, 'q4');
  assert.throws(() => chooseLayout(plan, 'f32'), (e: Error) => e.name === 'LimitError' && e.message.includes('--weights f32 does not fit'));
  const tiny = makePlan(facts, adapter(RUNTIME_BYTES / 2), { compute: 'f32', group: 32 });
  assert.throws(() => chooseLayout(tiny, 'auto'), (e: Error) => e.name === 'LimitError' && e.message.includes('no weight format fits') && e.message.includes('q4:'));
  // A discrete GPU with unknown memory: the compute dtype's format, since no limit rules it out.
  assert.equal(chooseLayout(makePlan(facts, { ...adapter(), cpu: false }, { compute: 'f32', group: 32 }), 'auto').format, 'f32');
  // Without shader-f16 every layout that stores f16 is ruled out by name.
  const noF16 = makePlan(facts, { ...adapter(2 ** 34), hasF16: false }, { compute: 'f32', group: 32 });
  assert.equal(chooseLayout(noF16, 'auto').format, 'f32');
  assert.throws(() => chooseLayout(noF16, 'q4'), (e: Error) => e.name === 'LimitError' && e.message.includes('shader-f16'));
});

test('plan: a folder that is not a checkpoint, and a config whose sizes disagree with the tensors, are typed errors', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'plan-'));
  await assert.rejects(readCheckpointFacts(empty), (e: Error) => e.name === 'InputError' && e.message.includes('is not a checkpoint folder'));
  const bad = mkdtempSync(join(tmpdir(), 'plan-bad-'));
  cpSync(CKPT, bad, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
  cfg.intermediate_size += 2;
  writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(readCheckpointFacts(bad), (e: Error) => e.name === 'ConfigError' && /mlp\.(gate|up|down)_proj\.weight/.test(e.message) && e.message.includes('disagree'));
});

test('q4 on an adapter without shader-f16: a typed error when the store is made, before any weight is read', async () => {
  const noF16 = await testGpu({ disableFeatures: ['shader-f16'] });
  const ck = await Checkpoint.open(CKPT);
  try {
    assert.throws(() => new WeightStore(noF16, ck, { dtype: 'f32', layout: { format: 'q4', group: 32 } }), (e: Error) => e.name === 'DTypeError' && e.message.includes('shader-f16') && e.message.includes('q4'));
    new WeightStore(noF16, ck, { dtype: 'f32', layout: { format: 'f32', group: 32 } }).dispose();
  } finally { await ck.close(); }
});
