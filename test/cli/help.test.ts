// Every command the README's command list names answers --help: usage on stdout, exit 0, and no
// GPU device started (the help is printed before any work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const readme = readFileSync('README.md', 'utf8');
const commands = [...new Set([...readme.matchAll(/^npx llava-st ([a-z]+)/gm)].map((m) => m[1]!))];

test('every command in the README answers --help with its usage and exit 0', () => {
  assert.ok(commands.length >= 10, `README lists ${commands.join(', ')}`);
  for (const c of commands) {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', c, '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `llava-st ${c} --help: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stdout, /usage/i, `llava-st ${c} --help prints no usage`);
  }
});
