// The standing bad-input suite: `llava-st run`, `eval` and `inspect` as a user runs them (one child
// process per case), each with input that is wrong in one way. Every case must end with the exit
// code given, exactly one `error:` line on stderr that names the argument or file at fault, no
// stack trace, and no output file (nor a temporary one) left behind. All but one case fail before
// the GPU device starts, so the suite takes seconds, not minutes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/llava-st-synth/', import.meta.url));
const SAMPLES = join(MODEL, 'samples');
const VIDEO = join(SAMPLES, 'demo1_tvg.mp4');
const IMAGE = join(SAMPLES, 'image1_rec.png');
const tmp = mkdtempSync(join(tmpdir(), 'bad-input-'));
const out = join(tmp, 'out'); // every case that writes, writes here; it must stay empty
mkdirSync(out);
const at = (name: string): string => join(tmp, name);

// ---- fixtures: broken files and model folders ---------------------------------------------------

writeFileSync(at('empty.mp4'), '');
writeFileSync(at('text.mp4'), 'this is not a video\n');
writeFileSync(at('text.png'), 'plain text\n');
writeFileSync(at('truncated.png'), readFileSync(IMAGE).subarray(0, 200));
const ffmpeg = (args: string[]): void => {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
};
ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', at('audio.m4a')]);
writeFileSync(at('truncated.mp4'), readFileSync(VIDEO).subarray(0, 9000));
mkdirSync(at('folder.png'));
mkdirSync(at('unreadable'));
writeFileSync(at('unreadable/clip.mp4'), readFileSync(VIDEO));
chmodSync(at('unreadable/clip.mp4'), 0o000);
const asRoot = process.getuid?.() === 0; // root reads anything: the unreadable case proves nothing then

/** A copy of the demo model folder with `change` applied. */
function modelWith(name: string, change: (dir: string) => void): string {
  const dir = at(name);
  mkdirSync(dir);
  for (const f of readdirSync(MODEL)) if (f !== 'samples') copyFileSync(join(MODEL, f), join(dir, f));
  change(dir);
  return dir;
}
const noConfig = modelWith('no-config', (d) => { writeFileSync(join(d, 'config.json'), ''); spawnSync('rm', [join(d, 'config.json')]); });
const badConfig = modelWith('bad-config', (d) => writeFileSync(join(d, 'config.json'), '{"model_type": "llava_qwen", '));
const wrongConfig = modelWith('wrong-config', (d) => {
  const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, hidden_size: (c.hidden_size as number) * 2 }));
});
const noVocab = modelWith('no-vocab', (d) => spawnSync('rm', [join(d, 'vocab.json')]));
const badVocab = modelWith('bad-vocab', (d) => writeFileSync(join(d, 'vocab.json'), '{"a": 0, "b": "one"}'));
const noWeights = modelWith('no-weights', (d) => spawnSync('rm', [join(d, 'model.safetensors')]));
const badWeights = modelWith('bad-weights', (d) => writeFileSync(join(d, 'model.safetensors'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125])));

// ---- the cases ---------------------------------------------------------------------------------

interface Case { args: string[]; message: RegExp; code?: number; cmd?: string; skip?: boolean }
const q = ['--prompt', 'When?'];
const img = ['--image', IMAGE];
const vid = ['--video', VIDEO];
const viz = (name: string): string[] => ['--viz', join(out, name)];

const CASES: Case[] = [
  // numbers out of range or not numbers
  { args: [...img, ...q, '--max-new-tokens', '-1'], message: /^error: --max-new-tokens -1: expected a whole number from 1 to 32768/ },
  { args: [...img, ...q, '--max-new-tokens', '1e9'], message: /^error: --max-new-tokens 1e9: .*context is 32768 tokens/ },
  { args: [...img, ...q, '--max-new-tokens', 'ten'], message: /^error: --max-new-tokens ten: expected a whole number/ },
  { args: [...img, ...q, '--max-new-tokens', '2.5'], message: /^error: --max-new-tokens 2\.5:/ },
  { args: [...img, '--task', 'reg', '--box', '0.8,0.2,0.3,0.5'], message: /^error: --box 0\.8,0\.2,0\.3,0\.5: expected x1 < x2 and y1 < y2/ },
  { args: [...img, '--task', 'reg', '--box', '0.1,0.2,1.3,0.5'], message: /^error: --box 0\.1,0\.2,1\.3,0\.5: expected 4 comma-separated numbers in \[0, 1\]/ },
  { args: [...img, '--task', 'reg', '--box', '0.1,0.2,0.3'], message: /^error: --box 0\.1,0\.2,0\.3:/ },
  { args: [...vid, '--task', 'tr', '--span', '0.8,0.2'], message: /^error: --span 0\.8,0\.2: the start must come before the end/ },
  { args: [...vid, '--task', 'tr', '--span', 'a,b'], message: /^error: --span a,b: expected 2 comma-separated numbers/ },
  { args: [...vid, '--task', 'elc', '--span', '0.2,0.5', '--box', '0.1,0.1,0.2,0.2'], message: /^error: --span 0\.2,0\.5: elc takes one time/ },
  { args: [...vid, ...q, '--split', '5,2'], message: /^error: --split 5,2: expected two frame numbers/ },
  { args: [...vid, ...q, '--split', '0,500'], message: /split \[0, 500\].*the video has 100 frames/ },
  { args: [...img, ...q, '--dtype', 'f64'], message: /^error: --dtype f64: expected f32, f16 or auto/ },
  { args: [...img, '--task', 'nope'], message: /^error: --task nope: unknown task/ },
  { args: [...img, '--task', 'tvg', '--query', 'x'], message: /^error: --task tvg works on a --video/ },
  { args: [...img, '--bogus'], message: /^error: Unknown option '--bogus'/, code: 2 },
  { args: [...img, '--prompt'], message: /^error: Option '--prompt <value>' argument missing/, code: 2 },
  { args: [...img, '--prompt', '   '], message: /^error: --prompt is empty/ },
  // paths that are missing, folders, unwritable or unreadable
  { args: ['--video', at('missing.mp4'), ...q, ...viz('a.gif')], message: /^error: --video .*missing\.mp4: no such file/ },
  { args: ['--video', tmp, ...q], message: /^error: --video .*: a folder, a file is needed/ },
  { args: ['--video', at('unreadable/clip.mp4'), ...q], message: /clip\.mp4: permission denied/, skip: asRoot },
  { args: [...img, ...q, ...viz('b.jpg')], message: /^error: --viz .*b\.jpg: the file must end in \.png or \.gif/ },
  { args: [...img, ...q, '--viz', at('no-such-folder/c.png')], message: /^error: --viz .*c\.png: the folder .*no-such-folder does not exist/ },
  { args: [...img, ...q, '--viz', '/proc/d.png'], message: /^error: --viz \/proc\/d\.png: cannot write there/ },
  { args: [...img, ...q, '--viz', at('folder.png')], message: /^error: --viz .*folder\.png: a folder; give a file name/ },
  { args: ['--model', at('missing-model'), ...img, ...q], message: /^error: --model .*missing-model: not a folder/ },
  // media that is empty, truncated, the wrong kind, or has no video stream
  { args: ['--video', at('empty.mp4'), ...q, ...viz('e.gif')], message: /^error: --video .*empty\.mp4: the file is empty/ },
  { args: ['--video', at('text.mp4'), ...q], message: /text\.mp4: not a readable video/ },
  { args: ['--video', at('truncated.mp4'), ...q], message: /truncated\.mp4: truncated video: the container lists 100 frames, the file holds \d+/ },
  { args: ['--video', at('audio.m4a'), ...q], message: /audio\.m4a: no video stream/ },
  { args: ['--video', IMAGE, ...q], message: /image1_rec\.png: a still image/ },
  { args: ['--image', at('text.png'), ...q], message: /text\.png: not a PNG or JPEG image/ },
  { args: ['--image', at('truncated.png'), ...q], message: /truncated\.png/ },
  { args: ['--image', VIDEO, ...q], message: /demo1_tvg\.mp4: not a PNG or JPEG image/ },
  // model folders with a missing or invalid config, vocab or weights
  { args: ['--model', noConfig, ...img, ...q], message: /^error: --model .*no-config: no config\.json there/ },
  { args: ['--model', badConfig, ...img, ...q], message: /bad-config.*config\.json/ },
  { args: ['--model', wrongConfig, ...img, ...q], message: /^error: --model .*wrong-config: \d+ weight\(s\) do not fit config\.json/ },
  { args: ['--model', noVocab, ...img, ...q], message: /no-vocab.*vocab\.json: missing/ },
  { args: ['--model', badVocab, ...img, ...q], message: /bad-vocab.*vocab\.json: token "b" has id one/ },
  { args: ['--model', noWeights, ...img, ...q], message: /no-weights: directory holds neither model\.safetensors/ },
  { args: ['--model', badWeights, ...img, ...q], message: /bad-weights.*model\.safetensors/ },
  // text too long for the model (control tokens typed in are text: see test/tasks/prompt.test.ts)
  { args: [...img, '--prompt', 'a,'.repeat(40000)], message: /^error: --prompt: the prompt is 40\d\d\d tokens; this model takes at most 32768/ },
  // eval and inspect share the argument layer
  { cmd: 'eval', args: ['--set', at('missing-set')], message: /^error: --set .*missing-set: no such directory or file/ },
  { cmd: 'eval', args: ['--set', join(MODEL, '..', '..', 'models'), '--limit', '-3'], message: /^error: --limit -3: expected a positive integer/ },
  { cmd: 'inspect', args: [at('text.mp4')], message: /text\.mp4/ },
];

function runCli(cmd: string, args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, err }); });
  });
}

test('every bad input: its exit code, one error line naming what is wrong, no stack trace, nothing written', async () => {
  const cases = CASES.filter((c) => !c.skip);
  const results = new Array<Awaited<ReturnType<typeof runCli>>>(cases.length);
  let next = 0;
  // Two at a time: the cases are mostly process start-up and small file reads.
  await Promise.all([0, 1].map(async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const t0 = Date.now();
      results[i] = await runCli(cases[i]!.cmd ?? 'run', cases[i]!.args);
      if (process.env.CASE_TIMES) console.log(`# ${Date.now() - t0} ms ${cases[i]!.args.join(' ').slice(0, 90)}`); // which cases are slow
    }
  }));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const r = results[i]!;
    // Dawn prints "Warning: ..." lines of its own; they are not ours.
    const lines = r.err.split('\n').filter((l) => l !== '' && !l.startsWith('Warning: '));
    const what = `${c.cmd ?? 'run'} ${c.args.map((a) => (a.length > 40 ? `${a.slice(0, 20)}…` : a)).join(' ')}`;
    if (r.code !== (c.code ?? 1)) failures.push(`${what}: exit ${r.code}, want ${c.code ?? 1}: ${lines.join(' | ')}`);
    else if (lines.length !== 1) failures.push(`${what}: ${lines.length} stderr lines: ${lines.join(' | ')}`);
    else if (!lines[0]!.startsWith('error: ') || !c.message.test(lines[0]!)) failures.push(`${what}: ${lines[0]} !~ ${c.message}`);
    else if (/^\s+at /m.test(r.err)) failures.push(`${what}: a stack trace`);
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(readdirSync(out), [], 'no output or temporary file is left');
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
  assert.ok(!existsSync(at('no-such-folder')));
});
