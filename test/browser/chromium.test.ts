// The library in a real browser: headless Chromium loads dist/ as native ES modules, gets its GPU
// through navigator.gpu (requestGpu), runs broadcasting add, matmulTiled and a scope/dispose leak
// check, and POSTs the outputs back. Here the references are recomputed in Node from the same seed
// and compared with what the browser's GPU produced. Skips when /usr/bin/chromium is missing.
// Seed: random per run (printed), or LLAVA_ST_BROWSER_SEED=N to reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, REPO_ROOT, runPageInChromium } from './chromium.js';
import { CASES, caseInputs, caseReference, caseTolerance, compare } from './cases.js';
import type { PageResult } from './page.js';

const RESULT_TIMEOUT_MS = 40_000;

test('the library runs in headless Chromium on navigator.gpu and matches the references', { timeout: 58_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);
    return;
  }
  assert.ok(existsSync(join(REPO_ROOT, 'dist', 'test', 'browser', 'page.js')), 'dist/test/browser/page.js is missing: run npm run build');
  const seed = Number(process.env.LLAVA_ST_BROWSER_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const run = await runPageInChromium({ seed, timeoutMs: RESULT_TIMEOUT_MS });
  const where = `(seed ${seed}; reproduce with LLAVA_ST_BROWSER_SEED=${seed})\nserver log:\n  ${run.serverLog.slice(-30).join('\n  ')}\nChromium stderr (tail):\n${run.stderrTail}`;
  if (run.failure !== undefined) assert.fail(`${run.failure} ${where}`);

  const r = run.result as PageResult;
  t.diagnostic(`seed ${seed}, ${run.ms} ms in all, ${r.ms} ms in the page; ${r.userAgent}`);
  t.diagnostic(`adapter ${JSON.stringify(r.adapter)}; features ${JSON.stringify(r.features)}`);
  if (r.skipped?.length) t.diagnostic(`skipped in the page: ${r.skipped.join('; ')}`);
  assert.equal(r.error, undefined, `the page failed: ${r.error} ${where}`);
  assert.equal(r.adapter?.backend, 'browser', 'requestGpu() in the page took the Node path');

  // Every case ran (or was skipped for a missing optional feature), and the GPU outputs the page
  // sent match references recomputed here, independently of the page's own comparison.
  for (const [i, c] of CASES.entries()) {
    const got = r.cases.find((x) => x.name === c.name);
    if (!got) {
      assert.ok(c.kind === 'add' && c.dtype === 'f16' && r.skipped.some((s) => s.startsWith(c.name)), `${c.name}: no result from the page ${where}`);
      continue;
    }
    const cmp = compare(got.got, caseReference(c, caseInputs(c, i, seed)), caseTolerance(c));
    assert.ok(cmp.ok, `${c.name}: ${cmp.detail} ${where}`);
    assert.ok(got.ok, `${c.name}: the page's own check failed: ${got.detail}`);
  }
  assert.ok(r.cases.length >= CASES.filter((c) => c.kind === 'matmul' || c.dtype === 'f32').length, 'fewer cases ran than expected');

  // Ownership: one live buffer while the scope's result is held, none after dispose or a throwing scope.
  const l = r.leak;
  assert.ok(l, 'no leak-check result');
  assert.deepEqual(
    { liveWhileHeld: l.liveWhileHeld, liveAfterDispose: l.liveAfterDispose, liveAfterThrow: l.liveAfterThrow, useAfterDispose: l.useAfterDispose },
    { liveWhileHeld: 1, liveAfterDispose: 0, liveAfterThrow: 0, useAfterDispose: 'OwnershipError' },
  );
  assert.ok(l.value.ok, `leak-check value: ${l.value.detail}`);
  assert.equal(r.ok, true);
});
