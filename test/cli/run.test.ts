// `llava-st run` as a user runs it (a child process): one answer with its grounding, the picture,
// and bad input ending in one `error:` line, a non-zero exit and no half-written output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

function expectError(args: string[], message: RegExp): void {
  const r = run(args);
  assert.equal(r.code, 1, `exit code for ${args.join(' ')}: ${r.err}`);
  assert.equal(r.err.split('\n').length, 1, `one line on stderr, got: ${r.err}`);
  assert.match(r.err, /^error: /);
  assert.match(r.err, message);
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

test('bad input: one error line, exit 1, nothing written', () => {
  const garbage = join(tmp, 'garbage.mp4');
  writeFileSync(garbage, 'this is not a video');
  const notImage = join(tmp, 'not-an-image.png');
  writeFileSync(notImage, 'plain text');
  const noWeights = join(tmp, 'no-weights');
  mkdirSync(noWeights);
  copyFileSync(join(MODEL, 'config.json'), join(noWeights, 'config.json'));
  const video = join(SAMPLES, 'demo1_tvg.mp4');
  const viz = join(tmp, 'never.gif');

  expectError(['--video', join(tmp, 'missing.mp4'), '--prompt', 'When?', '--viz', viz], /missing\.mp4/);
  expectError(['--video', garbage, '--prompt', 'When?'], /garbage\.mp4: not a readable video/);
  expectError(['--image', notImage, '--prompt', 'Where?'], /not-an-image\.png/);
  expectError(['--video', video, '--split', '0,500', '--prompt', 'When?'], /split \[0, 500\].*100 frames/);
  expectError(['--video', video, '--task', 'nope', '--query', 'x'], /unknown task "nope"/);
  expectError(['--image', join(SAMPLES, 'image1_rec.png'), '--task', 'tvg', '--query', 'x'], /--task tvg works on a --video/);
  expectError(['--model', tmp, '--image', notImage, '--prompt', 'x'], /no config\.json/);
  expectError(['--model', noWeights, '--image', join(SAMPLES, 'image1_rec.png'), '--prompt', 'x'], /no-weights/);
  assert.ok(!existsSync(viz), 'a failed run writes no picture');
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
});
