// Runs every compiled test file with Node's test runner, one file at a time: the GPU tests
// share one software adapter that already uses both cores.
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains a substring)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const walk = (d) => readdirSync(d).flatMap((f) => {
  const p = join(d, f);
  return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
});
const filters = process.argv.slice(2);
const files = walk(root).sort().filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) { console.error(`no test files under ${root} match ${filters.join(' ')}`); process.exit(1); }
// Tests run the kernel policy's defaults, never a machine's cached measurements (ops/tune.ts).
process.env.LLAVA_ST_TUNE ??= 'off';
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
