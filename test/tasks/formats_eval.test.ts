// bench formats' comparison: agreement of answer ids with f32 per task, and the task metrics with
// their change, on the demo eval set's reference answers (as f32) and a copy with two answers changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFormats, fixedSubset, formatRowsTable } from '../../src/bench/formats_eval.js';
import { loadEvalSet } from '../../src/tasks/eval_set.js';
import type { ResultLine } from '../../src/tasks/results.js';
import { sharedPath } from '../support/shared.js';

const set = loadEvalSet(sharedPath('models/llava-st-synth/eval'));

test('fixedSubset: the first N items of each task, in the set order', () => {
  const sub = fixedSubset(set.items, 2);
  assert.deepEqual(sub.map((it) => it.id), ['tvg-000', 'tvg-001', 'stvg-016', 'stvg-017', 'svg-032', 'svg-033', 'rec-044', 'rec-045']);
});

test('compareFormats: per-task agreement of answer ids and metric changes against f32', () => {
  const items = fixedSubset(set.items, 3);
  const keep = new Set(items.map((it) => it.id));
  const f32 = set.reference!.results.filter((r) => keep.has(r.id as string)) as ResultLine[];
  // One TVG answer loses its span (tIoU 0); one REC answer keeps its text and length, one id differs.
  const q8 = f32.map((l) => l.id === 'tvg-001' ? { ...l, answer_text: 'of of of', answer_ids: [1, 1, 1] }
    : l.id === 'rec-045' ? { ...l, answer_ids: (l.answer_ids as number[]).map((v, i) => (i === 0 ? v + 1 : v)) } : l);
  const [base, q] = compareFormats(items, new Map([['f32', f32], ['q8', q8]]));
  assert.deepEqual(base!.agree.all, { same: 12, n: 12 });
  assert.deepEqual([q!.agree.all, q!.agree.tvg, q!.agree.stvg, q!.agree.rec], [{ same: 10, n: 12 }, { same: 2, n: 3 }, { same: 3, n: 3 }, { same: 2, n: 3 }]);
  const tiou = (id: string) => f32.find((l) => l.id === id)!.tiou as number;
  assert.ok(Math.abs(base!.metrics['TVG tIoU']! - q!.metrics['TVG tIoU']! - tiou('tvg-001') / 3) < 1e-12);
  assert.equal(q!.metrics['REC IoU'], base!.metrics['REC IoU']);
  const table = formatRowsTable([base!, q!]);
  assert.match(table, /\| q8 \| 10\/12 \(83%\) \| 2\/3 \(67%\) \|/);
  assert.match(table, /−0\.\d{3}\)/);
});
