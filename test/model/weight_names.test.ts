// expectedTensors against the spec's 7B parameter counts (architecture.md §14.7) and the fixtures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Checkpoint } from '../../src/core/checkpoint.js';
import { ConfigError } from '../../src/core/errors.js';
import { checkWeights, expectedTensors, packerEmbedDimOf } from '../../src/model/weight_names.js';

const QWEN2_7B = {
  hidden_size: 3584, num_hidden_layers: 28, num_attention_heads: 28, num_key_value_heads: 4, intermediate_size: 18944,
  vocab_size: 151660, tie_word_embeddings: false, mm_hidden_size: 1152, mm_projector_type: 'mlp2x_gelu',
  mm_resampler_type: 'fast_slow_resampler', num_spatial_tokens: 100, num_temporal_tokens: 100,
};

const count = (m: Map<string, number[]>, re: RegExp) =>
  [...m].filter(([n]) => re.test(n)).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);

test('7B config with so400m defaults matches the §14.7 parameter counts', () => {
  const m = expectedTensors(QWEN2_7B);
  assert.equal(count(m, /^(model\.(embed_tokens|layers|norm)|lm_head)\./), 7_612_720_640);
  assert.equal(count(m, /^model\.layers\.0\./), 233_057_792);
  assert.equal(count(m, /^model\.vision_tower\./), 397_747_744 - 2 * 1152); // §14.7 counts the unused post_layernorm
  assert.equal(count(m, /^model\.mm_projector\./), 16_980_992);
  assert.equal(count(m, /^model\.vision_resampler\./), 2 * 22_036_480); // token_packer_fast is unused
  assert.equal(count(m, /_embeddings\.weight$/), 2_150_400);
  assert.deepEqual(m.get('model.layers.27.self_attn.k_proj.weight'), [512, 3584]);
  assert.equal(m.has('model.layers.28.input_layernorm.weight'), false);
  assert.equal(m.has('model.vision_tower.vision_tower.vision_model.encoder.layers.25.mlp.fc2.bias'), true);
  assert.equal(m.has('model.vision_tower.vision_tower.vision_model.encoder.layers.26.mlp.fc2.bias'), false);
});

test('fixture checkpoints: nothing missing or mis-shaped, only the known unused tensors extra', async () => {
  for (const dir of ['../shared/fixtures/llava-st-tiny/checkpoint', '../shared/models/llava-st-synth']) {
    const c = await Checkpoint.open(dir);
    const actual = new Map([...c.entries].map(([n, e]) => [n, e.shape]));
    await c.close();
    const read = (f: string) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as unknown;
    const r = checkWeights(actual, expectedTensors(read('config.json'), read('vision_tower_config.json'), { packerEmbedDim: packerEmbedDimOf(actual) }));
    assert.deepEqual([r.missing, r.unexpected, r.mismatched], [[], [], []], dir);
    assert.equal(r.unused.length, 23 + 2, dir); // token_packer_fast.* and post_layernorm.{weight,bias}
  }
});

test('bad configs are ConfigErrors naming the key', () => {
  assert.throws(() => expectedTensors({ ...QWEN2_7B, hidden_size: '3584' }), (e) => e instanceof ConfigError && /"hidden_size"/.test(e.message));
  assert.throws(() => expectedTensors({ ...QWEN2_7B, mm_projector_type: 'linear' }), (e) => e instanceof ConfigError && /mm_projector_type/.test(e.message));
  assert.throws(() => expectedTensors({ ...QWEN2_7B, mm_hidden_size: 32 }), (e) => e instanceof ConfigError && /mm_hidden_size 32/.test(e.message));
  assert.throws(() => expectedTensors({ ...QWEN2_7B, num_key_value_heads: 5 }), (e) => e instanceof ConfigError && /divide/.test(e.message));
});
