// `llava-st score`: the Markdown table and JSON from saved predictions, and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreMain } from '../../src/cli/score.js';
import { readSharedJson, sharedPath } from '../support/shared.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { err.push(a.join(' ')); };
  try {
    return { code: await scoreMain(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

const dir = mkdtempSync(join(tmpdir(), 'score-'));
const SET = sharedPath('models/llava-st-synth/eval');

test('set mode: table and JSON reproduce the reference summary', async () => {
  const ref = readSharedJson('models/llava-st-synth/eval/reference_results.json');
  const pred = join(dir, 'set.jsonl');
  writeFileSync(pred, ref.results.map((r: any) => JSON.stringify({ id: r.id, answer_text: r.answer_text })).join('\n') + '\n');
  const json = join(dir, 'set.json');
  const r = await run(['--task', 'all', '--pred', pred, '--set', SET, '--json', json]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\| task \| n \| metric \| value \|\n\| --- \| ---: \| --- \| ---: \|/);
  assert.match(r.out, /\| TVG \| 16 \| mean tIoU \| 0\.564 \|/);
  assert.match(r.out, /\| TVG \| 16 \| tIoU R@0\.5 \(%\) \| 68\.8 \|/);
  assert.match(r.out, /\| REC \| 16 \| mean IoU \| 0\.039 \|/);
  assert.match(r.out, /\| all \| 60 \| score \(mean of task scores\) \| 0\.225 \|/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.ok(Math.abs(j.summary.score - ref.summary.score) < 1e-12);
});

test('benchmark mode: reference records give the reference numbers', async () => {
  for (const task of ['rec', 'tvg', 'stvg', 'svg', 'elc']) {
    const f = readSharedJson(`fixtures/metrics/${task}.json`);
    const pred = join(dir, `${task}.jsonl`);
    writeFileSync(pred, f.records.map((rec: any, i: number) => JSON.stringify({ id: `${task}-${i}`, ...rec })).join('\n') + '\n');
    const json = join(dir, `${task}.json`);
    const r = await run(['--task', task, '--pred', pred, '--json', json]);
    assert.equal(r.code, 0, r.err);
    const got = JSON.parse(readFileSync(json, 'utf8')).returned;
    for (const [k, v] of Object.entries(f.aggregate.returned as Record<string, unknown>)) {
      if (typeof v === 'number') assert.ok(Math.abs(got[k] - v) <= 1e-12, `${task} ${k}: ${got[k]} vs ${v}`);
    }
    assert.match(r.out, new RegExp(`\\| ${task.toUpperCase()} \\| 40 \\|`));
  }
});

test('errors: unknown task lists valid tasks; broken line is named', async () => {
  const bad = await run(['--task', 'vqa', '--pred', 'x.jsonl']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown task 'vqa'.*valid tasks: rec, tvg, stvg, svg, elc/);
  const withSet = await run(['--task', 'elc', '--pred', 'x.jsonl', '--set', SET]);
  assert.match(withSet.err, /unknown task 'elc' with --set; valid tasks: tvg, stvg, svg, rec, all/);
  const pred = join(dir, 'broken.jsonl');
  writeFileSync(pred, '{"id":"tvg-000","answer_text":"x"}\n{"id": "tvg-001", \n');
  const broken = await run(['--task', 'tvg', '--pred', pred, '--set', SET]);
  assert.equal(broken.code, 2);
  assert.match(broken.err, /broken\.jsonl:2: not valid JSON/);
  const missing = await run(['--task', 'tvg']);
  assert.match(missing.err, /--task and --pred are required/);
});
