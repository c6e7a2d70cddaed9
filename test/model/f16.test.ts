// f16 compute (shader-f16): the image case of set A within the fixture README's f16 tolerances
// (stages 3e-2 + 3e-2·|ref|, logits 5e-2), teacher-forced so that a near-tie cannot change the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LlavaSt } from '../../src/model/llava_st.js';
import { loadFixtureCase, runCase } from '../../src/model/golden.js';
import { testGpu } from '../support/gpu.js';
import { TINY } from '../support/shared.js';

const gpu = await testGpu();

test('image in f16: every golden tensor within the f16 tolerances', { skip: !gpu.hasF16 && 'the adapter has no shader-f16' }, async () => {
  const model = await LlavaSt.load(gpu, join(TINY, 'checkpoint'), { dtype: 'f16' });
  try {
    const r = await runCase(model, await loadFixtureCase(TINY, 'image'), 'f16');
    const failed = r.rows.filter((x) => !x.pass).map((x) => `${x.name}: max_abs ${x.maxAbs} ${x.note ?? ''}`);
    assert.deepEqual(failed, []);
    assert.ok(r.rows.some((x) => x.name === 'generation_step_logits' && x.pass));
    // Not required by the tolerance policy (near-ties), but f16 gives the golden ids here too.
    assert.deepEqual(r.ids, [161, 386, 144, 161, 386, 144, 161, 386]);
  } finally {
    model.dispose();
  }
});
