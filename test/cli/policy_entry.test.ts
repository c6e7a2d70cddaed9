// Every entry point that runs the model (run, demo, eval; the page does the same with IndexedDB)
// loads the cached kernel policy, so tuned choices apply everywhere, and once a cache exists none of
// them measures anything (--dtype auto included). Each runs as a user runs it, a child process,
// against a cache folder holding a hand-written table: norm measured as coal.wg64 (not lavapipe's
// default), dtype f16 (not lavapipe's default f32), every other class not measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyKey, policyKeyId, defaultVariant, type TunedTable } from '../../src/ops/policy.js';
import { testGpu } from '../support/gpu.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));
const gpu = await testGpu();
const dir = mkdtempSync(join(tmpdir(), 'policy-entry-'));
const cacheDir = join(dir, 'cache');
const cacheFile = join(cacheDir, `policy-${policyKeyId(policyKey(gpu))}.json`);
const measured = (variant: string) => ({ variant, ms: 1, shape: 'hand-written', runnersUp: [] });
const table: TunedTable = {
  schema: 1, key: policyKey(gpu), created: new Date(0).toISOString(), tuneMs: 0, fma: { f32: 1, f16: 2 }, dtype: 'f16',
  winners: { 'norm:narrow': measured('coal.wg64'), 'norm:wide': measured('coal.wg64') },
};
const text = JSON.stringify(table);
mkdirSync(cacheDir);
writeFileSync(cacheFile, text);
assert.notEqual(defaultVariant('software', 'norm', 'wide'), 'coal.wg64', 'the table must differ from the default to show');

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, LLAVA_ST_TUNE: 'auto', LLAVA_ST_CACHE_DIR: cacheDir, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The cache was read (its untuned classes are named) and neither measured nor rewritten. */
function readOnly(err: string, what: string): void {
  assert.match(err, /kernels: \d+ shape classes not measured yet/, `${what} did not load the kernel policy:\n${err}`);
  assert.doesNotMatch(err, /tuning/, `${what} measured with a cache present:\n${err}`);
  assert.equal(readFileSync(cacheFile, 'utf8'), text, `${what} rewrote the cache`);
  assert.deepEqual(readdirSync(cacheDir).filter((f) => f.startsWith('policy-')), [cacheFile.split('/').pop()]);
}

test('run: the cached norm variant runs, --dtype auto is the cached dtype, nothing is measured', () => {
  const r = cli(['run', '--model', MODEL, '--image', join(MODEL, 'samples/image1_rec.png'), '--task', 'rec', '--query', 'the red square', '--json'], { LLAVA_ST_PROFILE: '1' });
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { dtype: string }).dtype, 'f16');
  assert.match(r.err, /norm\.layer coal\.wg64/, 'the profile names the measured variant');
  readOnly(r.err, 'run');
});

test('demo: loads the cache; --dtype auto is the cached dtype', () => {
  const r = cli(['demo', '--model', MODEL, '--sample', 'image1_rec', '--dtype', 'auto', '--out-dir', join(dir, 'demo')]);
  // (f16 answers may differ from the reference model's f32 ids: the exit code is not the point.)
  assert.match(r.out, /\(f16\)[\s\S]*answers match the reference/, r.out + r.err);
  readOnly(r.err, 'demo');
});

test('eval: loads the cache', () => {
  // A one-item set: the REC sample image, the box it holds.
  const set = join(dir, 'set');
  mkdirSync(join(set, 'media'), { recursive: true });
  copyFileSync(join(MODEL, 'samples/image1_rec.png'), join(set, 'media/rec.png'));
  writeFileSync(join(set, 'items.json'), JSON.stringify([{ id: 'rec-0', task: 'rec', object: 'red square', media: 'media/rec.png',
    question: 'Where is the red square in this image?', answer: '[<w0.47><h0.19><w0.61><h0.86>]',
    answer_tokens: '[<WIDTH-047><HEIGHT-019><WIDTH-061><HEIGHT-086>]', gt: { box: [0.47, 0.19, 0.61, 0.86] } }]));
  const r = cli(['eval', '--model', MODEL, '--set', set, '--out', join(dir, 'r.jsonl')]);
  assert.equal(r.code, 0, r.err);
  readOnly(r.err, 'eval');
});
