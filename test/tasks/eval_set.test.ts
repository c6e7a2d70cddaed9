// Eval set A: read items.json and reference_results.json, score the reference's own answers,
// and reproduce its summary table. Also the ST-Align benchmark reader and its typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { loadEvalSet, loadStAlignBenchmark } from '../../src/tasks/eval_set.js';
import { scoreEvalSet } from '../../src/tasks/set_metrics.js';
import { sharedPath } from '../support/shared.js';

const SET = sharedPath('models/llava-st-synth/eval');

test('items.json: 60 items, per task counts, reference results attached', () => {
  const set = loadEvalSet(SET);
  assert.equal(set.items.length, 60);
  const count = (t: string) => set.items.filter((i) => i.task === t).length;
  assert.deepEqual([count('tvg'), count('stvg'), count('svg'), count('rec')], [16, 16, 12, 16]);
  assert.equal(set.reference?.results.length, 60);
});

test("scoring the reference's own answers reproduces its summary and per-item numbers", () => {
  const set = loadEvalSet(SET);
  const ref = set.reference!;
  const preds = ref.results.map((r) => ({ id: r.id as string, answer_text: r.answer_text as string }));
  const s = scoreEvalSet(set.items, preds);
  const want = ref.summary as Record<string, any>;
  for (const task of ['tvg', 'stvg', 'svg', 'rec'] as const) {
    const got = s.summary[task]!;
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want[task]).sort(), task);
    for (const [k, v] of Object.entries(want[task] as Record<string, number>)) {
      assert.ok(Math.abs(got[k]! - v) <= 1e-12, `${task}.${k}: ${got[k]} vs ${v}`);
    }
    assert.equal(got.n, want[task].n);
  }
  assert.ok(Math.abs(s.summary.score - want.score) <= 1e-12, `score ${s.summary.score} vs ${want.score}`);
  assert.equal(s.summary.exact_match_all, want.exact_match_all);
  assert.deepEqual([s.missing, s.unknown], [[], []]);
  ref.results.forEach((r: any, i) => {
    const got = s.perItem.find((x) => x.id === r.id)!;
    for (const k of ['exact', 'parsed', 'pred_span', 'tiou', 'pred_pairs', 'siou', 'box_acc50', 'keyframes_exact', 'pred_box', 'iou', 'acc50']) {
      if (k in r) assert.deepEqual((got as any)[k], r[k], `item ${i} ${r.id} ${k}`);
    }
  });
  // the README's rounded table
  const t3 = (v: number) => Number(v.toFixed(3));
  assert.deepEqual([t3(s.summary.tvg!.mean_tiou!), t3(s.summary.stvg!.mean_siou!), t3(s.summary.rec!.mean_iou!)], [0.564, 0.02, 0.039]);
});

test('missing predictions count as unparsed, unknown ids are listed', () => {
  const set = loadEvalSet(SET);
  const s = scoreEvalSet(set.items, [{ id: 'nope', answer_text: '' }], ['rec']);
  assert.equal(s.missing.length, 16);
  assert.deepEqual(s.unknown, ['nope']);
  assert.equal(s.summary.rec!.parsed, 0);
});

test('typed errors: missing index, bad JSON, bad item', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evalset-'));
  assert.throws(() => loadEvalSet(dir), (e: unknown) => e instanceof InputError && /items\.json not found/.test(e.message));
  writeFileSync(join(dir, 'items.json'), '[{"id": 1}');
  assert.throws(() => loadEvalSet(dir), (e: unknown) => e instanceof InputError && /not valid JSON/.test(e.message));
  writeFileSync(join(dir, 'items.json'), JSON.stringify([{ id: 'a', task: 'tvg', media: 'm', question: 'q', answer: 'a', answer_tokens: 'a', gt: {} }]));
  assert.throws(() => loadEvalSet(dir), (e: unknown) => e instanceof InputError && /item 0 \(a\): gt\.span_frames is missing/.test(e.message));
});

test('ST-Align benchmark JSON: GT built as the dataset does, first 2000 only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stalign-'));
  const item = (i: number) => ({
    video_path: `v${i}.mp4`,
    meta: { split: [0, 149], width: 640, height: 360, time_token: { '<s>': 30, '<e>': 60 }, spatial_token: { '<bboxes>': { '30': [10, 20, 100, 50], '31': [1, 1, 1, 1] } } },
    conversations: [{ from: 'human', value: 'Starts in <s>, what happened?' }, { from: 'gpt', value: 'Ends in <e>, a dog runs. Object bounding box: <bboxes>' }],
  });
  const path = join(dir, 'elc.json');
  writeFileSync(path, JSON.stringify(Array.from({ length: 2003 }, (_, i) => item(i))));
  const items = loadStAlignBenchmark(path, 'elc');
  assert.equal(items.length, 2000);
  // frame 31 is not among the 100 sampled frames of [0, 149]; 30 is
  assert.deepEqual(items[0]!.gt, { svg: { '30': [10, 20, 110, 70] }, tvg: [30, 60], caption: 'a dog runs.' });
  writeFileSync(path, JSON.stringify([{ meta: { split: [0, 9], width: 1, height: 1 } }]));
  assert.throws(() => loadStAlignBenchmark(path, 'svg'), (e: unknown) => e instanceof InputError && /item 0: meta\.time_token/.test(e.message));
  assert.throws(() => loadStAlignBenchmark(join(dir, 'none.json'), 'svg'), (e: unknown) => e instanceof InputError && /not found/.test(e.message));
});
