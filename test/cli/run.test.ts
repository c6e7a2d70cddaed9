// `llava-st run` as a user runs it (a child process): one answer with its grounding, the picture,
// (Bad input: test/cli/bad_input.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../src/core/errors.js';
import { writeViz } from '../../src/cli/viz_output.js';
import type { AnswerResult } from '../../src/tasks/assistant.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));
const SAMPLES = join(MODEL, 'samples');
const tmp = mkdtempSync(join(tmpdir(), 'run-cli-'));

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 240_000 });
  // Dawn prints two "Warning: ... artificially reduced" lines of its own; they are not ours.
  const err = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: ')).join('\n');
  return { code: r.status, out: r.stdout, err };
}

test('an image question: the reference answer ids, the box in pixels, and the picture', () => {
  const sample = (JSON.parse(readFileSync(join(SAMPLES, 'samples.json'), 'utf8')) as { name: string; question: string; reference_answer_ids: number[] }[])
    .find((s) => s.name === 'image1_rec')!;
  const viz = join(tmp, 'rec.png');
  const r = run(['--image', join(SAMPLES, 'image1_rec.png'), '--prompt', sample.question, '--json', '--viz', viz, '--dtype', 'f32']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { ids: number[]; grounding: { boxes: { bins: number[]; pixels: number[] }[] }; media: { width: number } };
  assert.deepEqual(j.ids, sample.reference_answer_ids);
  assert.deepEqual(j.grounding.boxes[0]!.bins, [47, 19, 61, 86]);
  assert.ok(Math.abs(j.grounding.boxes[0]!.pixels[0]! - (47 / 99) * 176) < 1e-9);
  assert.ok(readFileSync(viz).subarray(1, 4).toString() === 'PNG');
});

test('a picture that cannot be written: one InputError naming --viz, and no temporary file left', async () => {
  const r = { media: { kind: 'image', path: join(SAMPLES, 'image1_rec.png'), width: 176, height: 176 },
    grounding: { spans: [], boxes: [], problems: [] } } as unknown as AnswerResult;
  const locked = join(tmp, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  const targets = ['/proc/never.png', join(tmp, 'gone', 'never.png'), ...(process.getuid?.() === 0 ? [] : [join(locked, 'never.png')])];
  for (const target of targets) {
    await assert.rejects(writeViz(target, r), (e: unknown) => e instanceof InputError && e.message.startsWith(`--viz ${target}: cannot write the picture`));
    assert.ok(!existsSync(target));
  }
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
  await writeViz(join(tmp, 'ok.png'), r);
  assert.ok(existsSync(join(tmp, 'ok.png')));
});
