// Tables over maxStorageBufferBindingSize, end to end. The real 7B embedding table and lm_head are
// over 2 GiB in f32, far beyond one binding; here the demo model's 29 MB tables meet an artificial
// 8 MiB limit, so the SplitWeight paths (embedding gather per part, the extended head as row parts
// plus the coordinate tables) carry a real generation, which must give the reference ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Assistant } from '../../src/tasks/assistant.js';
import { SplitWeight } from '../../src/ops/linear.js';
import { testGpu } from '../support/gpu.js';

const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));

test('split embedding table and head: image1_rec gives the reference answer ids', async () => {
  const limit = 8 << 20;
  const gpu = await testGpu({ limitOverrides: { maxStorageBufferBindingSize: limit } });
  const assistant = await Assistant.load(gpu, MODEL);
  try {
    const splits = Object.values(assistant.model.decoder).filter((w) => w instanceof SplitWeight) as SplitWeight[];
    assert.ok(splits.length >= 1, 'the decoder holds split tables under an 8 MiB binding limit');
    for (const w of splits) for (const p of w.parts) assert.ok(p.byteSize <= limit, `${w.name} part of ${p.byteSize} B`);
    const sample = (JSON.parse(readFileSync(join(MODEL, 'samples', 'samples.json'), 'utf8')) as { name: string; question: string; reference_answer_ids: number[] }[])
      .find((s) => s.name === 'image1_rec')!;
    const r = await assistant.ask({ question: sample.question, media: { kind: 'image', path: join(MODEL, 'samples', 'image1_rec.png') }, maxNewTokens: 16 });
    assert.deepEqual(r.ids, sample.reference_answer_ids);
  } finally {
    assistant.dispose();
  }
});
