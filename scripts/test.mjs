// Runs every compiled test file with Node's test runner, one file at a time (the GPU tests share
// one software adapter that already uses both cores), then prints each file's wall time, slowest
// first, so that slow files are visible.
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

const runs = files.map((file) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--test', file], { stdio: 'inherit' });
  return { file: relative(root, file), seconds: (performance.now() - t0) / 1000, ok: r.status === 0 };
});
const total = runs.reduce((s, r) => s + r.seconds, 0);
console.log(`\ntest files by wall time (${total.toFixed(1)} s in all):`);
for (const r of [...runs].sort((a, b) => b.seconds - a.seconds)) {
  console.log(`${r.seconds.toFixed(1).padStart(8)} s  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.file}`);
}
const failed = runs.filter((r) => !r.ok);
if (failed.length > 0) console.log(`\n${failed.length} file(s) failed: ${failed.map((r) => r.file).join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
