// `llava-st inspect`: listings, per-dtype totals, the config audit, and one-line errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectMain, type ExpectedFn } from '../../src/cli/inspect.js';

const TINY = '../shared/fixtures/llava-st-tiny';

async function run(argv: string[], expected?: ExpectedFn) {
  let out = '';
  let err = '';
  const code = await inspectMain(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, ...(expected ? { expected } : {}) });
  return { code, out, err };
}

test('fixture checkpoints pass the config audit: 0 missing, 0 mismatched, 25 unused', async () => {
  for (const dir of ['checkpoint', 'checkpoint-sharded', 'checkpoint-bf16']) {
    const { code, out, err } = await run([`${TINY}/${dir}`, '--config', `${TINY}/${dir}/config.json`]);
    assert.equal(err, '');
    assert.equal(code, 0, out);
    assert.match(out, /^OK: 159 tensors, .*; 0 missing, 0 unexpected, 0 shape mismatches, 25 present but unused\n$/m, dir);
    assert.match(out, /^present, unused: model\.vision_resampler\.token_packer_fast\./m);
    assert.match(out, /^model\.embed_tokens\.weight\t(F32|BF16)\t\[128, 64\]\t(32768|16384)$/m);
  }
});

test('--json gives totals per dtype and the check', async () => {
  const { code, out } = await run([`${TINY}/checkpoint-bf16/model.safetensors`, '--json', '--config', `${TINY}/checkpoint-bf16/config.json`]);
  assert.equal(code, 0);
  const r = JSON.parse(out) as { totals: Record<string, { count: number; bytes: number }>; tensors: unknown[]; check: { missing: string[] } };
  assert.deepEqual(r.totals, { BF16: { count: 159, bytes: 1089408 / 2 } });
  assert.equal(r.tensors.length, 159);
  assert.deepEqual(r.check.missing, []);
});

test('synth model passes the audit; a directory is audited against its own config.json; a file alone is not', async () => {
  const synth = '../shared/models/llava-st-synth';
  assert.equal((await run([synth, '--config', `${synth}/config.json`])).code, 0);
  const dir = await run([synth]);
  assert.equal(dir.code, 0);
  assert.match(dir.out, /^OK: 139 tensors, 29561184 bytes in 1 file\(s\); 0 missing, 0 unexpected, 0 shape mismatches/m);
  assert.match(dir.out, /^ {2}BF16\t139 tensors\t29561184 bytes$/m);
  const file = await run([`${synth}/model.safetensors`]);
  assert.equal(file.code, 0);
  assert.match(file.out, /^OK: 139 tensors, 29561184 bytes in 1 file\(s\) \(no --config/m);
});

test('a tampered config reports missing tensors and shape mismatches, exit 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'inspect-'));
  try {
    const cfg = JSON.parse(await readFile(`${TINY}/checkpoint/config.json`, 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3, intermediate_size: 96 }));
    await copyFile(`${TINY}/checkpoint/vision_tower_config.json`, join(dir, 'vision_tower_config.json'));
    const { code, out } = await run([`${TINY}/checkpoint`, '--config', join(dir, 'config.json')]);
    assert.equal(code, 2);
    assert.match(out, /^missing: model\.layers\.2\.self_attn\.q_proj\.weight$/m);
    assert.match(out, /^shape mismatch: model\.layers\.0\.mlp\.up_proj\.weight: expected \[96, 64\], found \[128, 64\]$/m);
    assert.match(out, /^MISMATCH: 159 tensors, .*; 12 missing, 0 unexpected, 6 shape mismatches/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an injected expected() drives the audit; extras are unexpected', async () => {
  const { code, out } = await run([`${TINY}/checkpoint`, '--config', 'ignored'], async () => new Map([['lm_head.weight', [428, 64]]]));
  assert.equal(code, 2);
  assert.match(out, /1 shape mismatches/);
  assert.match(out, /^unexpected: model\.embed_tokens\.weight$/m);
});

test('malformed input: one `error:` line on stderr, exit 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'inspect-'));
  try {
    const bytes = await readFile(`${TINY}/checkpoint/model.safetensors`);
    bytes.writeUInt32LE(0xffffff, 0); // header length past the end of the file
    await writeFile(join(dir, 'model.safetensors'), bytes);
    const cases: [string[], RegExp][] = [
      [[dir], /^error: .*model\.safetensors: header length 16777215 runs past the end/],
      [[], /^error: expected exactly one PATH; usage:/],
      [[dir, '--bogus'], /^error: .*bogus.*usage:/],
      [[`${TINY}/checkpoint`, '--config', join(dir, 'nope.json')], /^error: .*nope\.json: cannot read/],
    ];
    for (const [argv, re] of cases) {
      const { code, out, err } = await run(argv);
      assert.equal(code, 1, argv.join(' '));
      assert.equal(out, '');
      assert.match(err, re);
      assert.equal(err.split('\n').length, 2, 'exactly one line');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
