// The video case of set A (100 frames, 2581-token prompt) on checkpoint/ (f32): every golden
// stage tensor (the fast packer's are skipped by design), greedy ids, teacher-forced step logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LlavaSt } from '../../src/model/llava_st.js';
import { loadFixtureCase, runCase } from '../../src/model/golden.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();

test('video: every golden tensor within 1e-4 + 1e-4·|ref|, greedy ids exact', async () => {
  const model = await LlavaSt.load(gpu, join(TINY, 'checkpoint'));
  const r = await runCase(model, await loadFixtureCase(TINY, 'video'));
  const failed = r.rows.filter((x) => !x.pass).map((x) => `${x.name}: max_abs ${x.maxAbs} ${x.note ?? ''}`);
  assert.deepEqual(failed, []);
  const skipped = r.rows.filter((x) => x.note?.startsWith('skipped')).map((x) => x.name).sort();
  assert.deepEqual(skipped, ['packer_fast_final', 'token_packer_fast_output']);
  assert.deepEqual(r.ids, [26, 34, 5, 217, 165, 367, 360, 279]);
  model.dispose();
});
