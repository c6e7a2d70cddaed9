// The two scripts of examples/ run as a user runs them (a separate process importing the package
// by name) and print what the README says they print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = (script: string): string => {
  const r = spawnSync(process.execPath, [`dist/examples/${script}`], { cwd: ROOT, encoding: 'utf8', timeout: 480_000 });
  assert.equal(r.status, 0, `${script} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};

test('video_taps: the answer with its span and boxes, and both packer taps with their shapes', () => {
  const out = run('video_taps.js');
  assert.match(out, /^A: During the span of \{<TEMP-\d+><TEMP-\d+>\}/m);
  assert.match(out, /^span: \d+\.\d\d s \.\. \d+\.\d\d s$/m);
  assert.match(out, /^box at \d+\.\d\d s: \[\d+, \d+, \d+, \d+\] px$/m);
  assert.match(out, /^packer\.spatial \[100, 81, 48\] \(\[T, L, D\]/m);
  assert.match(out, /^packer\.slow \[20, 81, 48\] \(\[T\/k, L, D\]/m);
});

test('average_packer: answers with the ST-Packer and with average pooling, and says how they differ', () => {
  const out = run('average_packer.js');
  assert.match(out, /^ST-Packer: {7}During the period \{<TEMP-\d+><TEMP-\d+>\} {3}\(bins \d+\.\.\d+\)$/m);
  assert.match(out, /^average pooling: /m);
  assert.match(out, /^the answer (did not change|changed: \d+ of \d+ answer tokens agree position by position)$/m);
});
