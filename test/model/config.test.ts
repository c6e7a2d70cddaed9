// config.json + vision_tower_config.json -> typed config; unknown values are ConfigErrors naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig, parseConfig } from '../../src/model/config.js';
import { sharedPath, TINY } from '../support/shared.js';

const tinyJson = () => JSON.parse(readFileSync(join(TINY, 'checkpoint/config.json'), 'utf8')) as Record<string, unknown>;

test('tiny set A: sizes, special ids from special_tokens.json, packer width from the checkpoint', async () => {
  const c = await loadConfig(join(TINY, 'checkpoint'), 48);
  assert.equal(c.text.hidden_size, 64);
  assert.equal(c.text.head_dim, 16);
  assert.equal(c.text.num_key_value_heads, 2);
  assert.equal(c.vision.layers, 3);
  assert.equal(c.vision.grid, 27);
  assert.equal(c.packer.embed_dim, 48);
  assert.equal(c.packer.spatialFactor, 3);
  assert.equal(c.packer.temporalFactor, 5);
  assert.equal(c.tokens['<im_start>'], 114);
  assert.equal(c.tokens['<WIDTH-OUTPUT>'], 127);
  assert.deepEqual(c.generation.eos_token_id, [113]);
  assert.equal(c.logitsWidth, 428);
  assert.equal(c.imageTokens, 729);
  assert.equal(c.videoTokens, 1620);
});

test('synth model: packer_embed_dim from vision_tower_config.json; ids derived from vocab_size', async () => {
  const c = await loadConfig(sharedPath('models/llava-st-synth'));
  assert.equal(c.packer.embed_dim, 48);
  assert.equal(c.vision.layers, 1);
  assert.equal(c.tokens['<|im_end|>'], 151645);
  assert.equal(c.tokens['<im_start>'], 151646);
  assert.equal(c.tokens['<WIDTH-OUTPUT>'], 151659);
  assert.equal(c.logitsWidth, 151960);
});

test('no vision_tower_config.json: SigLIP so400m defaults and packer width 1024', () => {
  const cfg = { ...tinyJson(), mm_hidden_size: 1152, hidden_size: 3584, num_attention_heads: 28, num_key_value_heads: 4, vocab_size: 151660 };
  const c = parseConfig({ config: cfg });
  assert.equal(c.vision.hidden_size, 1152);
  assert.equal(c.vision.layers, 26);
  assert.equal(c.vision.grid, 27);
  assert.equal(c.vision.num_attention_heads, 16);
  assert.equal(c.packer.embed_dim, 1024);
  assert.equal(c.tokens['<slow_vid_start>'], 151652);
});

test('unsupported or contradictory values name the key', () => {
  const bad = (patch: Record<string, unknown>, key: string) => {
    assert.throws(() => parseConfig({ config: { ...tinyJson(), ...patch }, visionConfig: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 4, patch_size: 2, image_size: 55 } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(key), key);
  };
  bad({ mm_projector_type: 'linear' }, 'mm_projector_type');
  bad({ use_sliding_window: true }, 'use_sliding_window');
  bad({ num_key_value_heads: 3 }, 'num_key_value_heads');
  bad({ mm_hidden_size: 31 }, 'mm_hidden_size');
  bad({ vocab_size: -1 }, 'vocab_size');
  bad({ rope_scaling: { type: 'linear' } }, 'rope_scaling');
  bad({ tie_word_embeddings: true }, 'tie_word_embeddings');
});
