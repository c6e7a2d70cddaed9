// `llava-st tune --model` as a user runs it (child processes, a private cache folder): a bad folder
// is one error line before the device starts; --show measures and writes nothing; tuning for a model
// writes that model's own table (`policy-<adapter key>-<workload>.json`) whose winners name the
// model's sizes and their calls, and --show prints them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TunedTable } from '../../src/ops/policy.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'tune-cli-'));
after(() => rmSync(cache, { recursive: true }));
const tables = () => readdirSync(cache).filter((f) => f.startsWith('policy-'));

const tune = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'tune', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, LLAVA_ST_CACHE_DIR: cache } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('tune --model with no checkpoint there: one error line naming the folder', () => {
  const r = tune(['--model', join(cache, 'nowhere')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /^error: .*nowhere is not a checkpoint folder/m);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('tune --model --show measures nothing and writes nothing without a cache', () => {
  const r = tune(['--model', MODEL, '--show']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pointwise:any\s+\S+ \(default\)/);
  assert.doesNotMatch(r.out, /tuning/);
  assert.deepEqual(tables(), []);
});

test('tune --model: the model\'s own table, measured on its sizes, which --show prints', () => {
  const r = tune(['--model', MODEL, '--ops', 'pointwise']);
  assert.equal(r.code, 0, r.err);
  const files = tables();
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^policy-[0-9a-f]+-[0-9a-f]+\.json$/, 'keyed by adapter and workload');
  const t = JSON.parse(readFileSync(join(cache, files[0]!), 'utf8')) as TunedTable;
  assert.match(t.workload ?? '', /^llava-st-synth, video question/);
  // the demo's costliest activations: 100 frames of SigLIP's tanh GELU (72900×64), the erf GELUs of
  // the projector and the packer's key/value MLPs (72900×48, three calls)
  assert.deepEqual(t.winners['pointwise:any']!.shapes!.map((s) => [s.shape, s.calls]).slice(0, 2),
    [['gelu_erf 3499200', 3], ['gelu_tanh 4665600', 1]]);
  const show = tune(['--model', MODEL, '--show']);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /tuned for llava-st-synth/);
  assert.match(show.out, /pointwise:any\s+\S+ [\d.]+ ms a question[^\n]*\n\s+on gelu_erf 3499200 ×3 at [\d.]+ ms/);
  assert.deepEqual(tables(), files, '--show wrote nothing');
});
