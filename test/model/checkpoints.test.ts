// The same model from the sharded and the BF16 checkpoints: image greedy ids and logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LlavaSt } from '../../src/model/llava_st.js';
import { loadFixtureCase, runCase } from '../../src/model/golden.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();

for (const [dir, golden, ids] of [
  ['checkpoint-sharded', undefined, [161, 386, 144, 161, 386, 144, 161, 386]],
  ['checkpoint-bf16', 'image_bf16weights_golden.safetensors', [161, 386, 144, 161, 386, 144, 161, 386]],
] as const) {
  test(`${dir}: image case against ${golden ?? 'image_golden'}`, async () => {
    const model = await LlavaSt.load(gpu, join(TINY, dir));
    const r = await runCase(model, await loadFixtureCase(TINY, 'image', golden));
    const failed = r.rows.filter((x) => !x.pass).map((x) => `${x.name}: max_abs ${x.maxAbs} ${x.note ?? ''}`);
    assert.deepEqual(failed, []);
    assert.deepEqual(r.ids, ids);
    assert.deepEqual(model.weights.unused(), []);
    model.dispose();
  });
}
