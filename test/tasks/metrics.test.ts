// The metrics against shared/fixtures/metrics/*.json, produced by the real upstream code:
// every aggregate, every subset aggregate, every per-item number, and every crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxIou, evalRec, evalSt, evalTvg, MetricError, temporalIou, type StTask } from '../../src/tasks/metrics.js';
import { readSharedJson } from '../support/shared.js';

const F = (name: string) => readSharedJson(`fixtures/metrics/${name}.json`);
const P = F('parsing');
// Set iteration order (README "Summation order"): sums over frames may differ by ~1e-14.
const SUM_TOL = 1e-12;
const near = (a: number, b: number, tol: number, msg: string) => assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);
const pick = <T>(xs: readonly T[], idx: readonly number[]) => idx.map((i) => xs[i]!);

test('box IoU: 40 helper cases, exact, -0.0 where Python shows it', () => {
  for (const c of P.iou) {
    const v = boxIou(c.box1, c.box2);
    assert.ok(Object.is(v, c.value_repr === '-0.0' ? -0 : c.value), `iou(${c.box1}, ${c.box2}) = ${v}, want ${c.value_repr}`);
  }
});

test('temporal IoU: 40 helper cases, division by zero as MetricError', () => {
  for (const c of P.temporal_iou) {
    if (c.raises) assert.throws(() => temporalIou(c.A, c.B), MetricError);
    else assert.equal(temporalIou(c.A, c.B), c.value, `tiou(${c.A}, ${c.B})`);
  }
});

test('REC: aggregate, counts, per item, subsets, crashes', () => {
  const f = F('rec');
  const r = evalRec(f.records);
  assert.deepEqual(r.returned, f.aggregate.returned);
  const c = f.aggregate.counts;
  assert.deepEqual([r.counts.items, r.counts.parsed, r.counts.skipped, r.counts['hits_0.5']], [c.items, c.parsed, c.skipped, c['hits_0.5']]);
  f.per_item.forEach((p: any, i: number) => {
    const got = r.perItem[i]!;
    assert.deepEqual([got.predBox, got.skipped, got.hit], [p.pred_box, p.skipped, p['hit_iou_ge_0.5'] ?? false], `item ${i} (${p.case})`);
    if (p.iou === null) assert.equal(got.iou, null);
    else assert.ok(Object.is(got.iou, p.iou_repr === '-0.0' ? -0 : p.iou), `item ${i} iou ${got.iou} vs ${p.iou_repr}`);
  });
  // over all items: unparsed count as 0 in the denominator
  assert.equal(r.overAll.miou, r.perItem.reduce((s, x) => s + (x.iou ?? 0), 0) / 40);
  assert.equal(r.overAll['R1@(0.5)'], (c['hits_0.5'] / 40) * 100);
  for (const s of f.subset_aggregates) assert.deepEqual(evalRec(pick(f.records, s.indices)).returned, s.returned, s.name);
  for (const cr of f.crashes) assert.throws(() => evalRec(cr.records), MetricError, cr.description);
});

test('TVG: aggregate, counts, per item, subsets, crashes', () => {
  const f = F('tvg');
  const r = evalTvg(f.records);
  assert.deepEqual(r.returned, f.aggregate.returned);
  const c = f.aggregate.counts;
  assert.deepEqual([r.counts.items, r.counts.skipped, r.counts['hits_gt_0.3'], r.counts['hits_gt_0.5'], r.counts['hits_gt_0.7']],
    [c.items, c.skipped, c['hits_gt_0.3'], c['hits_gt_0.5'], c['hits_gt_0.7']]);
  assert.equal(r.counts.parseFailures, f.per_item.filter((p: any) => p.regex_fallback).length);
  f.per_item.forEach((p: any, i: number) => {
    const got = r.perItem[i]!;
    assert.deepEqual([got.predSpan, got.regexFallback, got.skipped, got.tiou], [p.pred_span, p.regex_fallback, p.skipped, p.tiou], `item ${i} (${p.case})`);
  });
  for (const s of f.subset_aggregates) assert.deepEqual(evalTvg(pick(f.records, s.indices)).returned, s.returned, s.name);
  for (const cr of f.crashes) assert.throws(() => evalTvg(cr.records), MetricError, cr.description);
});

const ST_EXACT = ['mtiou', 'tiou@0.3', 'tiou@0.5', 'tiou@0.7', 'siou@0.3', 'siou@0.5', 'siou@0.7', 'viou@0.3', 'viou@0.5', 'viou@0.7'];

function checkStAggregate(got: Record<string, number>, want: Record<string, number>, msg: string) {
  for (const k of ST_EXACT) assert.equal(got[k], want[k], `${msg} ${k}`);
  for (const k of ['msiou', 'mstiou']) near(got[k]!, want[k]!, SUM_TOL, `${msg} ${k}`);
}

for (const task of ['stvg', 'svg', 'elc'] as StTask[]) {
  test(`${task.toUpperCase()}: aggregate, per item, subsets, crashes`, () => {
    const f = F(task);
    const r = evalSt(f.records, task);
    checkStAggregate(r.returned, f.aggregate.returned, task);
    assert.deepEqual(Object.keys(r.returned), f.aggregate.returned_order.filter((k: string) => k !== 'caption_score'));
    f.per_item.forEach((p: any, i: number) => {
      const got = r.perItem[i]!;
      const msg = `item ${i} (${p.case})`;
      assert.deepEqual(got.frameIdx, p.frame_idx, msg);
      assert.deepEqual([got.tvgPred, got.tvgPredRegexFallback], [p.tvg_pred, p.tvg_pred_regex_fallback], msg);
      assert.deepEqual([...got.stpairs.entries()], p.stpairs_parsed, msg);
      assert.deepEqual([...got.svgPredMapped.entries()], p.svg_pred_mapped, msg);
      assert.deepEqual([got.framesInter, got.framesUnion], [p.frames_inter, p.frames_union], msg);
      assert.equal(got.perFrameIou.length, p.per_frame_iou.length, msg);
      got.perFrameIou.forEach(([k, v], j) => {
        const [wk, wv] = p.per_frame_iou[j];
        assert.equal(k, wk, msg);
        assert.ok(Object.is(v, wv) || (v === 0 && wv === 0), `${msg} frame ${k}: ${v} vs ${wv}`);
      });
      assert.equal(got.iouSum, p.iou_sum_ascending_order, msg);
      near(got.iouSum, p.iou_sum, SUM_TOL, msg);
      assert.equal(got.tiou, p.tiou, msg);
      near(got.siou, p.siou, SUM_TOL, msg);
      near(got.viou, p.viou, SUM_TOL, msg);
      for (const t of ['0.3', '0.5', '0.7']) {
        for (const m of ['tiou', 'siou', 'viou'] as const) assert.equal(got[m] >= Number(t), p[`hit_${m}_ge_${t}`], `${msg} ${m}@${t}`);
      }
      if (task !== 'svg') assert.deepEqual(got.tvgGtNormalized, p.tvg_gt_normalized, msg);
      if (task === 'elc') assert.deepEqual([got.gtCaption, got.predCaption], [p.gt_caption, p.pred_caption], msg);
    });
    if (task === 'elc') {
      const want = f.aggregate.caption_scorer_inputs;
      assert.deepEqual(r.captionInputs, { gts: want.gts, res: want.res });
    }
    for (const s of f.subset_aggregates) checkStAggregate(evalSt(pick(f.records, s.indices), task).returned, s.returned, s.name);
    for (const cr of f.crashes) assert.throws(() => evalSt(cr.records, cr.kwargs.task ?? task), MetricError, cr.description);
  });
}

test('hash_order_spread: the means stay within the documented spread', () => {
  const h = readSharedJson('fixtures/metrics/hash_order_spread.json');
  for (const task of ['stvg', 'svg', 'elc']) {
    for (const [k, v] of Object.entries(h.max_abs_diff_vs_seed_0[task] as Record<string, number>)) {
      assert.ok(v <= SUM_TOL, `${task} ${k}: seed spread ${v} exceeds our tolerance`);
    }
  }
});

test('bin -> frame key and pixels: the tables read out of eval_stvg', () => {
  for (const t of P.bin_to_frame_and_pixel) {
    const rows = t.rows as [number, string, number, number][];
    const outputs = rows.map(([k]) => `<TEMP-${k}>:[<WIDTH-${k}><HEIGHT-${k}><WIDTH-${k}><HEIGHT-${k}>]`).join(', ');
    const gt = { tvg: [t.split[0], t.split[1]], svg: {} };
    const item = evalSt([{ outputs, converted_outputs: '', split: t.split, width: t.width, height: t.height, gt }], 'svg').perItem[0]!;
    // colliding keys keep the last box: compare against the last row of each frame
    const want = new Map<string, number[]>();
    for (const [, key, x, y] of rows) want.set(key, [x, y, x, y]);
    assert.deepEqual([...item.svgPredMapped.entries()], [...want.entries()], `split ${t.split}`);
  }
});
