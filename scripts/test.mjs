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

// Each file's TAP goes through as it is; its closing counts are summed for one closing line.
const count = (out, key) => [...out.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
const runs = files.map((file) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--test', file], { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? '');
  const out = r.stdout ?? '';
  return { file: relative(root, file), seconds: (performance.now() - t0) / 1000, ok: r.status === 0,
    pass: count(out, 'pass'), fail: count(out, 'fail'), skipped: count(out, 'skipped') };
});
const total = runs.reduce((s, r) => s + r.seconds, 0);
console.log(`\ntest files by wall time (${total.toFixed(1)} s in all):`);
for (const r of [...runs].sort((a, b) => b.seconds - a.seconds)) {
  console.log(`${r.seconds.toFixed(1).padStart(8)} s  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.file}`);
}
const failed = runs.filter((r) => !r.ok);
if (failed.length > 0) console.log(`\n${failed.length} file(s) failed: ${failed.map((r) => r.file).join(', ')}`);
const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
// A file that failed without a failing test (a crash, a load error) still counts as one failure.
console.log(`\n${sum('pass')} passed, ${sum('fail') + runs.filter((r) => !r.ok && r.fail === 0).length} failed, ${sum('skipped')} skipped`);
process.exit(failed.length > 0 ? 1 : 0);
