// `llava-st eval`: bad input (no GPU), resume never double-counts (a fake answerer), the ST-Align
// question builder, and one real end-to-end run on the synth model against reference_results.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalMain, type EvalIO } from '../../src/cli/eval.js';
import { setJobs, stAlignJobs, type EvalJob } from '../../src/tasks/eval_jobs.js';
import { runEvalLoop, type Answerer } from '../../src/tasks/eval_loop.js';
import { InputError } from '../../src/core/errors.js';
import { loadEvalSet } from '../../src/tasks/eval_set.js';
import { readResults, ResultsWriter } from '../../src/tasks/results.js';
import { sharedPath as shared } from '../support/shared.js';

const MODEL = shared('models/llava-st-synth');
const SET = shared('models/llava-st-synth/eval');

interface Ref { results: { id: string; answer_text: string; answer_ids: number[] }[] }
const reference = (): Map<string, Ref['results'][number]> =>
  new Map((JSON.parse(readFileSync(join(SET, 'reference_results.json'), 'utf8')) as Ref).results.map((r) => [r.id, r]));

const tmp = (): string => mkdtempSync(join(tmpdir(), 'eval-cli-'));

/** evalMain with captured output and a fake answerer; `calls` lists the ids it was asked. */
async function run(argv: string[], answer?: Answerer) {
  let out = '';
  let err = '';
  const calls: string[] = [];
  const io: EvalIO = {
    stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, tty: false,
    answerer: async () => ({
      answer: async (job) => {
        calls.push(job.id);
        if (!answer) throw new Error(`the answerer must not be called (${job.id})`);
        return answer(job);
      },
      close: () => {},
    }),
  };
  const code = await evalMain(argv, io);
  return { code, out, err, calls };
}

/** Answers with the reference's greedy answer (so the aggregate must equal the reference's). */
const refAnswer: Answerer = async (job) => {
  const r = reference().get(job.id)!;
  return { text: r.answer_text, ids: r.answer_ids };
};

const base = ['--model', MODEL, '--set', SET];

test('bad input: one error line, non-zero exit, no GPU', async () => {
  const dir = tmp();
  const cases: [string[], RegExp, number][] = [
    [['--model', MODEL], /^error: --set is required/, 1],
    [[...base, '--task', 'elc', '--out', join(dir, 'a.jsonl')], /^error: --task elc: unknown task for an eval set directory; valid: tvg, stvg, svg, rec, all$/m, 1],
    [['--model', MODEL, '--set', dir, '--out', join(dir, 'b.jsonl')], /^error: .*items\.json: eval set index items\.json not found$/m, 1],
    [['--model', MODEL, '--set', join(dir, 'nope')], /^error: --set .*nope: no such directory or file$/m, 1],
    [[...base, '--limit', '0'], /^error: --limit 0: expected a positive integer$/m, 1],
    [[...base, '--ids', 'tvg-000,zzz', '--out', join(dir, 'c.jsonl')], /^error: --ids: not in .*: zzz$/m, 1],
    [['--model', dir, '--set', SET], /^error: --model .*: no config\.json there/m, 1],
    [[...base, '--bogus'], /^error: Unknown option '--bogus'/m, 2],
  ];
  for (const [argv, want, code] of cases) {
    const r = await run(argv);
    assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, want, argv.join(' '));
    assert.equal(r.out, '');
    assert.deepEqual(r.calls, []);
  }
  // A model that fails to load leaves no results file behind (a rerun needs no --resume).
  let e = '';
  const never = join(dir, 'never.jsonl');
  const failed = await evalMain([...base, '--limit', '1', '--out', never], {
    stdout: () => {}, stderr: (s) => { e += s; }, answerer: async () => { throw new InputError('cannot load'); },
  });
  assert.equal(failed, 1);
  assert.equal(e, 'error: cannot load\n');
  assert.equal(existsSync(never), false);
  // An ST-Align JSON needs --task, one of stvg/svg/elc.
  const json = join(dir, 'bench.json');
  writeFileSync(json, '[]');
  assert.match((await run(['--model', MODEL, '--set', json])).err, /^error: --set .*bench\.json is an ST-Align JSON: --task is required \(stvg, svg, elc\)$/m);
  assert.match((await run(['--model', MODEL, '--set', json, '--task', 'tvg'])).err, /^error: --task tvg: unknown task for an ST-Align benchmark JSON; valid: stvg, svg, elc$/m);
  // An existing --out is never overwritten without --resume.
  const existing = join(dir, 'existing.jsonl');
  writeFileSync(existing, '{"id":"tvg-000","answer_text":"x"}\n');
  const r = await run([...base, '--out', existing]);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: --out .*existing\.jsonl already exists; pass --resume/m);
  assert.equal(readFileSync(existing, 'utf8'), '{"id":"tvg-000","answer_text":"x"}\n');
  // A broken line in the middle of a results file is named by file and line.
  const broken = join(dir, 'broken.jsonl');
  writeFileSync(broken, '{"id":"tvg-000","answer_text":"x"}\n{"id": oops\n{"id":"tvg-001","answer_text":"x"}\n');
  const b = await run([...base, '--out', broken, '--resume']);
  assert.equal(b.code, 1);
  assert.match(b.err, /^error: .*broken\.jsonl:2: not valid JSON/m);
  assert.equal(b.err.trim().split('\n').length, 1);
});

test('resume: an interrupted run continues, and no item is counted twice', async () => {
  const dir = tmp();
  const out = join(dir, 'results.jsonl');
  const summary = join(dir, 'summary.json');
  const argv = [...base, '--limit', '6', '--task', 'stvg', '--out', out, '--json', summary];
  // First run: dies on the 4th item, after 3 lines were written; then a half-written line.
  let n = 0;
  await assert.rejects(run(argv, async (job) => { if (++n === 4) throw new Error('killed'); return refAnswer(job); }), /killed/);
  assert.equal(readResults(out).lines.length, 3);
  appendFileSync(out, '{"id":"stvg-0');
  // Resumed: only the 3 missing ids are answered; the broken tail is cut.
  const r = await run([...argv, '--resume'], refAnswer);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.calls.length, 3);
  assert.match(r.err, /resuming .*: 3 of 6 items already answered/);
  const lines = readResults(out);
  assert.equal(lines.lines.length, 6);
  assert.deepEqual(lines.duplicates, []);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 6);
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { summary: { stvg: { n: number; mean_tiou: number } }; run: { answered: number; resumed: number } };
  assert.equal(s.summary.stvg.n, 6);
  assert.deepEqual([s.run.answered, s.run.resumed], [3, 3]);
  assert.match(r.out, /^\| STVG \| 6 \| mean tIoU \| \d\.\d{3} \|$/m);
  // Once more: nothing to answer, same numbers.
  const again = await run([...argv, '--resume']);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(again.calls, []);
  const s2 = JSON.parse(readFileSync(summary, 'utf8')) as typeof s;
  assert.deepEqual(s2.summary, s.summary);
  // A line for an id already present (e.g. two files concatenated) is scored once, with a note.
  const first = readFileSync(out, 'utf8').split('\n')[0]!;
  appendFileSync(out, `${first}\n`);
  const dup = await run([...argv, '--resume']);
  assert.equal(dup.code, 0);
  assert.match(dup.out, /Note: id 'stvg-\d+' occurs on lines 1, 7 .* scored, once/);
  assert.equal((JSON.parse(readFileSync(summary, 'utf8')) as typeof s).summary.stvg.n, 6);
});

test('runEvalLoop skips ids already written, even when a job repeats', async () => {
  const dir = tmp();
  const set = loadEvalSet(SET);
  const jobs = setJobs(SET, set.items.slice(0, 5));
  const path = join(dir, 'r.jsonl');
  const w = ResultsWriter.open(path);
  const asked: string[] = [];
  const answer: Answerer = async (job) => { asked.push(job.id); return refAnswer(job); };
  assert.deepEqual(await runEvalLoop(jobs.slice(0, 2), w, answer), { answered: 2, skipped: 0 });
  assert.deepEqual(await runEvalLoop([...jobs, jobs[0]!], w, answer), { answered: 3, skipped: 3 });
  assert.equal(asked.length, 5);
  const lines = readResults(path).lines;
  assert.deepEqual(lines.map((l) => l.id), jobs.map((j) => j.id));
  // Each line carries the prediction, its ids and its scores; the reference's greedy TVG answer on tvg-000.
  const l0 = lines[0]!;
  assert.deepEqual(l0.answer_ids, reference().get('tvg-000')!.answer_ids);
  assert.equal((l0.scores as { tiou: number }).tiou, 0.021272614313586583);
});

test('the full synth set scored from reference answers reproduces the reference summary', async () => {
  const dir = tmp();
  const summary = join(dir, 's.json');
  const r = await run([...base, '--out', join(dir, 'r.jsonl'), '--json', summary], refAnswer);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.calls.length, 60);
  const ref = JSON.parse(readFileSync(join(SET, 'reference_results.json'), 'utf8')) as { summary: Record<string, unknown> };
  const got = (JSON.parse(readFileSync(summary, 'utf8')) as { summary: Record<string, unknown> }).summary;
  for (const t of ['tvg', 'stvg', 'svg', 'rec']) assert.deepEqual(got[t], ref.summary[t], t);
  assert.equal(got.score, ref.summary.score);
  assert.match(r.out, /^\| all \| 60 \| score \(mean of task scores\) \| 0\.225 \|$/m);
});

test('ST-Align JSON: questions built as VidSTGChatDataset does, scored with the benchmark metrics', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'videos'));
  writeFileSync(join(dir, 'videos', 'a.mp4'), '');
  const item = {
    video_path: 'a.mp4',
    meta: { split: [0, 99], width: 200, height: 100, time_token: { '<s>': 10, '<e>': 50 },
      spatial_token: { '<region>': [20, 10, 40, 30], '<bboxes>': { '10': [20, 10, 40, 30], '50': [0, 0, 10, 10] } } },
    conversations: [
      { from: 'human', value: '<video>\nStarts in <s>, what happened about the subject/object within the specified region <region>? Where is the corresponding subject/object located?' },
      { from: 'gpt', value: 'Ends in <e>, a dog runs. Object bounding box: <bboxes>' },
    ],
  };
  const json = join(dir, 'elc.json');
  writeFileSync(json, JSON.stringify([item]));
  const [job] = stAlignJobs(json, 'elc', join(dir, 'videos')) as [EvalJob];
  assert.equal(job.question, '<video>\n Starts in <TEMP-INPUT0.101> , what happened about the subject/object within the specified region  [<WIDTH-INPUT0.1><HEIGHT-INPUT0.1><WIDTH-INPUT0.3><HEIGHT-INPUT0.4>]? Where is the corresponding subject/object located?'
    + 'Please firstly give the end timestamp, then give the event associated with the object/subject, finally give the spatial bounding box corresponding to each timestamp in the time period.');
  assert.deepEqual(job.media, { kind: 'video', path: join(dir, 'videos', 'a.mp4'), split: [0, 99] });
  const svgItem = { ...item, conversations: [{ from: 'human', value: 'From <s> to <e>, where is the dog?' }, item.conversations[1]] };
  writeFileSync(json, JSON.stringify([svgItem]));
  assert.match(stAlignJobs(json, 'svg', dir)[0]!.question, /^[A-Za-z ]+ {<TEMP-INPUT0\.101><TEMP-INPUT0\.505>} , where is the dog\?Please give/);
  // The whole command, with the benchmark metrics (score.ts) on the results file.
  writeFileSync(json, JSON.stringify([item]));
  const answer: Answerer = async () => ({ text: 'Ends in <TEMP-050>, a dog runs. Object bounding box: <TEMP-010>:[<WIDTH-010><HEIGHT-010><WIDTH-030><HEIGHT-040>]', ids: [1] });
  const out = join(dir, 'r.jsonl');
  const r = await run(['--model', MODEL, '--set', json, '--task', 'elc', '--media-dir', join(dir, 'videos'), '--out', out], answer);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\| ELC \| 1 \| msiou \| /m);
  const line = readResults(out).lines[0]!;
  assert.equal(line.id, 'elc-0');
  assert.deepEqual(line.split, [0, 99]);
  assert.ok(existsSync(out));
});

test('end to end on the synth model: one item per task, answer ids equal the reference', async () => {
  const dir = tmp();
  const out = join(dir, 'r.jsonl');
  const ids = ['tvg-000', 'stvg-016', 'svg-032', 'rec-044'];
  let stdout = '';
  let stderr = '';
  const code = await evalMain([...base, '--ids', ids.join(','), '--limit', '4', '--out', out, '--json', join(dir, 's.json')],
    { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; }, tty: false });
  assert.equal(code, 0, stderr);
  const ref = reference();
  const lines = readResults(out).lines;
  assert.deepEqual(lines.map((l) => l.id), ids);
  for (const l of lines) {
    assert.deepEqual(l.answer_ids, ref.get(l.id)!.answer_ids, l.id);
    assert.equal(l.answer_text, ref.get(l.id)!.answer_text, l.id);
  }
  assert.match(stdout, /^\| REC \| 1 \| mean IoU \| /m);
});
