// model/sampling.ts: HF's processors (repetition penalty, temperature, top-k, top-p) and a seeded draw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sample, samplingWithDefaults } from '../../src/model/sampling.js';

const logits = Float32Array.from([1, 5, 3, 4.9, -2]);

test('top_k = 1 is greedy; a repetition penalty can move the choice off a generated id', () => {
  fc.assert(fc.property(fc.nat(), fc.nat({ max: 20 }), (seed, step) => {
    const generated = Array.from({ length: step }, () => 0);
    assert.equal(sample(logits, generated, { top_k: 1, seed }), 1);
    assert.equal(sample(logits, [...generated, 1], { top_k: 1, repetition_penalty: 1.1, seed }), 3); // 5/1.1 < 4.9
  }));
});

test('top_p keeps the smallest set over p; every draw is in the top-k set', () => {
  fc.assert(fc.property(fc.nat(), (seed) => {
    // softmax of [1, 5, 3, 4.9, -2]: ids 1 and 3 hold ~0.92 together
    assert.ok([1, 3].includes(sample(logits, [], { top_p: 0.9, seed })));
    assert.ok([1, 3, 2].includes(sample(logits, [], { top_k: 3, temperature: 5, seed })));
  }));
});

test('the draw repeats for the same (seed, step) and follows the distribution', () => {
  assert.equal(sample(logits, [7, 7], { seed: 3 }), sample(logits, [7, 7], { seed: 3 }));
  const counts = new Map<number, number>();
  for (let seed = 0; seed < 4000; seed++) { const id = sample(logits, [], { seed }); counts.set(id, (counts.get(id) ?? 0) + 1); }
  const e = [1, 5, 3, 4.9, -2].map(Math.exp), z = e.reduce((a, b) => a + b, 0);
  for (const [id, n] of counts) assert.ok(Math.abs(n / 4000 - e[id]! / z) < 0.03, `id ${id}: ${n / 4000} vs ${e[id]! / z}`);
});

test('samplingWithDefaults: generation_config fills what the caller left out', () => {
  const g = { eos_token_id: [1], temperature: 0.7, top_p: 0.8 };
  assert.deepEqual(samplingWithDefaults(true, g), { temperature: 0.7, top_p: 0.8 });
  assert.deepEqual(samplingWithDefaults({ temperature: 1, seed: 2 }, g), { temperature: 1, seed: 2, top_p: 0.8 });
});
