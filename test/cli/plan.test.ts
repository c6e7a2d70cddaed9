// `llava-st plan` and `run`'s use of it, as a user runs them (child processes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: ')).join('\n') };
}

test('plan: every stage in every format, the activations, the verdicts and what auto picks', () => {
  const r = cli(['plan', '--model', MODEL]);
  assert.equal(r.code, 0, r.err);
  for (const s of ['vision (SigLIP)', 'decoder layers', 'lm_head', 'peak activations', 'maxStorageBufferBindingSize', '--weights q4', 'run --weights auto loads f32']) assert.ok(r.out.includes(s), `missing "${s}" in\n${r.out}`);
  const j = JSON.parse(cli(['plan', '--model', MODEL, '--json', '--memory', '64']).out) as { fits: { format: string; fits: boolean }[]; chosen: { format: string } };
  assert.deepEqual(j.fits.map((f) => f.fits), [true, true, true, true]);
  assert.equal(j.chosen.format, 'f32');
});

test('plan on a folder that is not a checkpoint, and run when nothing fits: one error line, before any weight is read', () => {
  const empty = mkdtempSync(join(tmpdir(), 'plan-cli-'));
  const p = cli(['plan', '--model', empty]);
  assert.equal(p.code, 1);
  assert.match(p.err, /^error: .*is not a checkpoint folder/);
  const r = cli(['run', '--model', MODEL, '--prompt', 'hi', '--dtype', 'f32', '--memory', '0.01']);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, /^error: .*no weight format fits this adapter .*q4: needs/);
  assert.ok(!r.err.includes('loading weights'));
});
