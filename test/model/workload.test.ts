// model/workload.ts against what the model really dispatches: a video and an image question of the
// demo model, answered with the kernel policy recording every call's size (Policy.record), must
// make exactly the dispatches (op, class, size, count) the workload derives from config.json. The
// tuner times candidates on those sizes, so a layer added to the forward and not to the workload
// (or a wrong count, width or batch) fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Assistant } from '../../src/tasks/assistant.js';
import { dispatchLabel, policyFor, type Dispatch } from '../../src/ops/policy.js';
import { modelWorkload, typicalQuestion } from '../../src/model/workload.js';
import { testGpu } from '../support/gpu.js';

const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));
const gpu = await testGpu();
const samples = JSON.parse(readFileSync(join(MODEL, 'samples', 'samples.json'), 'utf8')) as { name: string; question: string }[];

const byLabel = (ds: readonly Dispatch[]) => Object.fromEntries(ds.map((d) => [dispatchLabel(d), d.calls]).sort(([a], [b]) => (a! < b! ? -1 : 1)));

for (const [kind, sample, file] of [['video', 'demo2_stvg', 'demo2_stvg.mp4'], ['image', 'image1_rec', 'image1_rec.png']] as const) {
  test(`the demo model's ${kind} question dispatches exactly its config-derived workload`, async () => {
    const assistant = await Assistant.load(gpu, MODEL);
    const policy = policyFor(gpu);
    try {
      const maxNewTokens = 4;
      policy.record();
      const r = await assistant.ask({ question: samples.find((s) => s.name === sample)!.question, media: { kind, path: join(MODEL, 'samples', file) }, maxNewTokens });
      const got = policy.recorded();
      const want = modelWorkload(assistant.model.config, { kind, promptTokens: r.promptTokens, newTokens: r.ids.length, maxNewTokens },
        { compute: assistant.model.dtype, maxBinding: gpu.limits.maxStorageBufferBindingSize });
      assert.ok(r.ids.length >= 2, 'at least one decode step');
      assert.deepEqual(byLabel(want.dispatches), byLabel(got));
    } finally {
      policy.recorded();
      assistant.dispose();
    }
  });
}

test('the typical question is a full video with a chat-sized prompt', async () => {
  const assistant = await Assistant.load(gpu, MODEL);
  try {
    const c = assistant.model.config, q = typicalQuestion(c);
    assert.equal(q.kind, 'video');
    assert.ok(q.promptTokens > c.videoTokens && q.promptTokens < c.videoTokens + 2000, `${q.promptTokens} prompt tokens`);
    const w = modelWorkload(c, q, { compute: 'f32', maxBinding: gpu.limits.maxStorageBufferBindingSize });
    // the demo's lm_head at decode: 1×48×(151660 + 3·100)
    assert.equal(w.dispatches.find((d) => dispatchLabel(d) === 'gemv:smallK 1×48×151960')?.calls, q.newTokens);
  } finally {
    assistant.dispose();
  }
});
