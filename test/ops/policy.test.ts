// The kernel policy (ops/policy.ts) and its tuner and cache (ops/tune.ts, ops/policy_store.ts):
// which rule decides (forced > measured > adapter-class default), the LLAVA_ST_KERNEL syntax and its
// errors, the cache key, and that loadPolicy tunes once and then only reads. The variants themselves
// are checked against the references in matmul/attention/norm/softmax.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu } from '../../src/core/device.js';
import { InputError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { linear } from '../../src/ops/linear.js';
import { sliceRows } from '../../src/ops/copy.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import {
  CANDIDATES, OP_NAMES, defaultVariant, defaultVariants, SHAPE_CLASSES, Policy, adapterClass, classOf, parseForced, policyFor, policyKey, policyKeyId,
  type TunedTable,
} from '../../src/ops/policy.js';
import { fileStore, memoryStore, nodeCacheDir } from '../../src/ops/policy_store.js';
import { TOP_SHAPES, TRIALS, WIN_MARGIN, loadPolicy, measureClass, pickWinner, timingsOf, workloadId } from '../../src/ops/tune.js';
import type { Workload } from '../../src/ops/policy.js';
import { GpuTimer } from '../../src/core/timer.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();

const fakeGpu = (description: string, vendor = '', architecture = ''): Gpu =>
  ({ adapter: { vendor, architecture, device: '', description, backend: 'vulkan' }, hasF16: true, hasSubgroups: false }) as unknown as Gpu;

test('adapter classes: software rasterizers, integrated and discrete GPUs', () => {
  assert.equal(adapterClass(fakeGpu('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', 'mesa', 'software')), 'software');
  assert.equal(adapterClass(fakeGpu('SwiftShader Device (Subzero)', 'google')), 'software');
  assert.equal(adapterClass(fakeGpu('Apple M2', 'apple', 'metal-3')), 'integrated');
  assert.equal(adapterClass(fakeGpu('Intel(R) UHD Graphics 620', 'intel', 'gen-9')), 'integrated');
  assert.equal(adapterClass(fakeGpu('Intel(R) Arc(TM) A770 Graphics', 'intel')), 'discrete');
  assert.equal(adapterClass(fakeGpu('NVIDIA H100 80GB HBM3', 'nvidia', 'hopper')), 'discrete');
  assert.equal(adapterClass(gpu), 'software', `this project's lavapipe: ${gpu.adapter.description}`);
});

test('every default names a candidate of its op, and every candidate name is unique', () => {
  for (const cls of ['software', 'integrated', 'discrete'] as const) {
    for (const op of OP_NAMES) {
      for (const shape of SHAPE_CLASSES[op]) {
        for (const name of defaultVariants(cls, op, shape)) {
          assert.ok(CANDIDATES[op].some((c) => c.name === name && (!c.classes || c.classes.includes(shape))), `${cls} default ${op}:${shape}=${name} is not a candidate for that class`);
        }
      }
    }
  }
  for (const op of OP_NAMES) assert.equal(new Set(CANDIDATES[op].map((c) => c.name)).size, CANDIDATES[op].length, `${op} has duplicate names`);
});

test('matmul_subgroup needs subgroups of at least 8 lanes; without them lavapipe\'s defaults fall back to their next preference', () => {
  // This device with its subgroups' minimum size replaced (Mali: 4; an adapter that does not say: 0).
  const withSubgroups = (min: number): Gpu => Object.assign(Object.create(Gpu.prototype) as Gpu,
    { features: gpu.features, limits: gpu.limits, adapter: { ...gpu.adapter, subgroupMinSize: min } });
  const subs = CANDIDATES.gemm.filter((c) => c.name.startsWith('sub'));
  assert.ok(subs.length > 0);
  for (const min of [0, 4, 8, 32]) {
    const fake = withSubgroups(min);
    for (const c of subs) assert.equal(c.when!(fake), gpu.hasSubgroups && min >= 8, `${c.name} on subgroups of ${min}`);
    const p = new Policy(fake);
    const eight = gpu.hasSubgroups && min >= 8;
    assert.equal(p.choose('gemm', 'smallK').candidate.name, eight ? 'sub4x16.v4' : 'rows4x8.v4', `smallK on subgroups of ${min}`);
    assert.equal(p.choose('gemm', 'largeK').candidate.name, eight ? 'sub4x24.v4' : 'reg12x12.k8', `largeK on subgroups of ${min}`);
    assert.equal(p.choose('gemv', 'smallK').candidate.name, eight ? 'bcast.n8' : 'gemv.n8k8v4', `gemv smallK on subgroups of ${min}`);
  }
});

test('LLAVA_ST_KERNEL syntax: op=variant, op:class=variant; clear errors for unknown ops, classes and variants', () => {
  const f = parseForced(' gemm=reg8x8.k8v4, attention:smallD.prefill=fused.wg16.split32 ,');
  assert.deepEqual([...f], [['gemm', 'reg8x8.k8v4'], ['attention:smallD.prefill', 'fused.wg16.split32']]);
  const bad = (spec: string, re: RegExp) => assert.throws(() => parseForced(spec), (e: unknown) => e instanceof InputError && re.test(e.message), spec);
  bad('gemmm=reg12x12.k8', /"gemmm=reg12x12.k8".*ops: gemm, gemv/);
  bad('gemm=nope', /gemm has no variant "nope" \(reg12x12\.k8,/);
  bad('gemm:hugeK=reg12x12.k8', /no shape class "hugeK" \(smallK, midK, largeK\)/);
  bad('gemm', /not op=variant/);
});

test('shape classes follow the call: K for GEMM, head dim and decode for attention, row width for norms', () => {
  // classify(call) = classOf(sizeOf(call)): the class is a function of the call's size
  const lin = (K: number) => classOf.gemm({ K } as never);
  assert.deepEqual([lin(32), lin(64), lin(65), lin(1024), lin(3584)], ['smallK', 'smallK', 'midK', 'midK', 'largeK']);
  const gemv = (K: number) => classOf.gemv({ K } as never);
  assert.deepEqual([gemv(48), gemv(256), gemv(257), gemv(3584)], ['smallK', 'smallK', 'largeK', 'largeK']);
  const att = (Lq: number, D: number) => classOf.attention({ Lq, D } as never);
  assert.deepEqual([att(729, 16), att(1, 24), att(100, 128), att(1, 128)], ['smallD.prefill', 'smallD.decode', 'largeD.prefill', 'largeD.decode']);
  for (const op of OP_NAMES) assert.ok(SHAPE_CLASSES[op].length > 0);
});

function table(g: Gpu, winners: Record<string, string>, dtype: 'f32' | 'f16' = 'f32'): TunedTable {
  return {
    schema: 1, key: policyKey(g), created: '', tuneMs: 0, fma: { f32: 1, f16: dtype === 'f16' ? 2 : 0.5 }, dtype,
    winners: Object.fromEntries(Object.entries(winners).map(([k, variant]) => [k, { variant, ms: 1, shape: '', runnersUp: [] }])),
  };
}

test('the rules in order: forced beats measured beats the adapter-class default; dtype follows the table', () => {
  const p = new Policy(gpu);
  assert.deepEqual([p.choose('gemm', 'smallK').candidate.name, p.choose('gemm', 'smallK').source], [defaultVariant('software', 'gemm', 'smallK'), 'default']);
  assert.equal(p.dtype, 'f32');
  p.useTuned(table(gpu, { 'gemm:smallK': 'reg8x8.k8v4' }, 'f16'));
  assert.deepEqual([p.choose('gemm', 'smallK').candidate.name, p.choose('gemm', 'smallK').source], ['reg8x8.k8v4', 'measured']);
  assert.equal(p.choose('gemm', 'midK').source, 'default', 'a class the table lacks keeps the default');
  assert.equal(p.dtype, gpu.hasF16 ? 'f16' : 'f32');
  p.force('gemm=reg4x4.k64v4');
  assert.deepEqual([p.choose('gemm', 'smallK').candidate.name, p.choose('gemm', 'smallK').source], ['reg4x4.k64v4', 'forced']);
  p.force('gemm:midK=reg8x8.k8v4');
  assert.equal(p.choose('gemm', 'smallK').source, 'measured');
  assert.equal(p.choose('gemm', 'midK').candidate.name, 'reg8x8.k8v4');
  p.useTuned(table(gpu, { 'gemm:smallK': 'a-variant-that-no-longer-exists' }));
  assert.equal(p.choose('gemm', 'smallK').source, 'default');
});

test('linear() runs the forced variant, and its output still matches the reference', async () => {
  const M = 37, K = 48, N = 29;
  const x = randomArray(M * K, 3), w = randomArray(N * K, 4);
  const policy = policyFor(gpu);
  for (const c of CANDIDATES.gemm) {
    policy.force(`gemm=${c.name}`);
    try {
      const y = scope(() => linear(Tensor.fromArray(gpu, x, [M, K]), Tensor.fromArray(gpu, w, [N, K])));
      assertClose(await y.toArray(), matmulRef(x, w, M, N, K), { atol: 2e-6 * K, rtol: 1e-5 }, `linear with ${c.name}`);
      y.dispose();
      assert.ok(gpu.kernels.labels().some((l) => l.endsWith(` ${c.name}`)), `the profile label names ${c.name}`);
    } finally {
      policy.force('');
    }
  }
});

test('measureClass checks every candidate, then orders the passing ones by time', async () => {
  const timer = new GpuTimer(gpu);
  try {
    const m = await measureClass(gpu, timer, 'softmax', 'narrow', 'f32', 1);
    // (a candidate over 3× the best first run is dropped after it, named in `slow`)
    const all = [m.variant, ...m.runnersUp.map((r) => r.variant), ...(m.slow ?? []).map((s) => s.split(' ')[0]!)];
    assert.deepEqual([...all].sort(), CANDIDATES.softmax.map((c) => c.name).sort());
    assert.ok(m.runnersUp.every((r, i) => i === 0 || r.ms >= m.runnersUp[i - 1]!.ms), 'runners-up fastest first');
    // The winner is the fastest, or the default within WIN_MARGIN of it.
    const byDefault = defaultVariant(policyFor(gpu).adapterClass, 'softmax', 'narrow');
    assert.ok(m.runnersUp.every((r) => r.ms >= m.ms) || (m.variant === byDefault && m.runnersUp[0]!.ms > (1 - WIN_MARGIN) * m.ms), JSON.stringify(m));
    assert.equal(m.failed, undefined);
  } finally {
    timer.destroy();
  }
});

test('a challenger replaces the default only when it is more than WIN_MARGIN faster', () => {
  const t = (variant: string, ms: number) => ({ variant, ms });
  assert.equal(pickWinner([t('b', 9.5), t('a', 10)], 'a').variant, 'a', 'within the margin the default stays');
  assert.equal(pickWinner([t('b', 8.9), t('a', 10)], 'a').variant, 'b', 'past the margin the challenger wins');
  assert.equal(pickWinner([t('b', 9.5), t('a', 10)], 'c').variant, 'b', 'a default that did not run does not count');
  assert.equal(pickWinner([t('a', 10), t('b', 12)], 'a').variant, 'a');
});

test('a candidate that disagrees with the reference is reported and never chosen', async () => {
  // A deliberately wrong softmax variant (it returns its input) joins the table for this test only.
  const table = CANDIDATES.softmax as unknown as { name: string; params: { wg: number }; run: (c: { x: Tensor }) => Tensor }[];
  table.push({ name: 'broken', params: { wg: 64 }, run: (c) => sliceRows(c.x, 0, c.x.shape[0]!) });
  const timer = new GpuTimer(gpu);
  try {
    const m = await measureClass(gpu, timer, 'softmax', 'narrow', 'f32', 1);
    assert.notEqual(m.variant, 'broken');
    assert.ok(!m.runnersUp.some((r) => r.variant === 'broken'));
    assert.match(m.failed?.join() ?? '', /^broken on 4096×128: element \d+ is/);
  } finally {
    table.pop();
    timer.destroy();
  }
});

test('loadPolicy tunes once, caches per adapter + driver + library version, then only reads', async () => {
  const store = memoryStore();
  const logs: string[] = [];
  const opts = { store, ops: ['softmax'] as const, mode: 'auto' as const, log: (s: string) => logs.push(s) };
  const p = await loadPolicy(gpu, opts);
  assert.equal(store.entries.size, 1);
  const [id, text] = [...store.entries][0]!;
  assert.equal(id, `policy-${policyKeyId(policyKey(gpu))}`);
  const saved = JSON.parse(text) as TunedTable;
  assert.deepEqual(Object.keys(saved.winners).sort(), ['softmax:narrow', 'softmax:wide']);
  assert.equal(p.choose('softmax', 'narrow').source, 'measured');
  assert.ok(logs.some((l) => l.startsWith('tuning')));
  logs.length = 0;
  await loadPolicy(gpu, opts);
  assert.deepEqual(logs, [], 'a complete cached table is read, never measured again');
  // Another library version (or driver) is another key: the old entry is not used.
  assert.notEqual(policyKeyId({ ...policyKey(gpu), library: 'other' }), policyKeyId(policyKey(gpu)));
  // A corrupt entry is measured again, not trusted and not a crash.
  store.entries.set(id, '{ not json');
  await loadPolicy(gpu, opts);
  assert.ok(logs.some((l) => /unreadable or stale/.test(l)));
  assert.ok(JSON.parse(store.entries.get(id)!).winners['softmax:wide']);
  policyFor(gpu).useTuned(undefined);
});

test('LLAVA_ST_TUNE=off style: mode off reads nothing and measures nothing', async () => {
  const store = memoryStore();
  await loadPolicy(gpu, { store, mode: 'off' });
  assert.equal(store.entries.size, 0);
  assert.equal(policyFor(gpu).tuned, undefined);
});

test('the Node cache folder: LLAVA_ST_CACHE_DIR, else XDG_CACHE_HOME/llava-st, else ~/.cache/llava-st; files written whole', async () => {
  assert.equal(nodeCacheDir({ LLAVA_ST_CACHE_DIR: '/x', XDG_CACHE_HOME: '/y' }), '/x');
  assert.equal(nodeCacheDir({ XDG_CACHE_HOME: '/y' }), '/y/llava-st');
  assert.equal(nodeCacheDir({ HOME: '/home/u' }), '/home/u/.cache/llava-st');
  const dir = mkdtempSync(join(tmpdir(), 'llava-st-policy-'));
  try {
    const store = fileStore(join(dir, 'sub'));
    assert.equal(await store.load('policy-x'), undefined);
    await store.save('policy-x', '{"a":1}');
    assert.equal(await store.load('policy-x'), '{"a":1}');
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['policy-x.json']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

// A model's workload (model/workload.ts makes the real ones; test/model/workload.test.ts checks them).
const softmaxWorkload: Workload = { name: 'two softmax sizes', dispatches: [
  { op: 'softmax', size: { rows: 64, N: 96 }, calls: 10 },
  { op: 'softmax', size: { rows: 300, N: 40 }, calls: 2 },
  { op: 'softmax', size: { rows: 8, N: 4000 }, calls: 50 }, // wide: another class
] };

test('timingsOf: a class is timed on its costliest sizes (calls × work), cut to a bound, else on its fixed trial', () => {
  const w: Workload = { name: 'synthetic', dispatches: [
    { op: 'gemm', size: { M: 1000, K: 48, N: 48 }, calls: 1 },      // 2.3 M MACs
    { op: 'gemm', size: { M: 100, K: 48, N: 48 }, calls: 50 },      // 11.5 M in all
    { op: 'gemm', size: { M: 2000, K: 32, N: 64 }, calls: 2 },      // 8.2 M
    { op: 'gemm', size: { M: 10, K: 48, N: 48 }, calls: 3 },        // the least: left out
    { op: 'gemm', size: { M: 100000, K: 1152, N: 4304 }, calls: 1 }, // largeK, and over the bound
    { op: 'gemv', size: { M: 1, K: 48, N: 151960 }, calls: 7 },
  ] };
  const small = timingsOf('gemm', 'smallK', w);
  assert.equal(small.length, TOP_SHAPES);
  assert.deepEqual(small.map((t) => [t.shape, t.calls, t.scale]), [['100×48×48', 50, 1], ['2000×32×64', 2, 1], ['1000×48×48', 1, 1]]);
  const [big] = timingsOf('gemm', 'largeK', w);
  assert.equal(big!.trial.shape, '256×1152×4304', 'rows cut to the bound');
  assert.equal(big!.scale, 100000 / 256);
  assert.deepEqual(timingsOf('gemv', 'smallK', w).map((t) => t.trial.shape), ['1×48×151960']);
  // quantized classes: the float sizes in that format where groups of 32 tile K (K = 48 does not)
  assert.deepEqual(timingsOf('qgemm', 'q8', w).map((t) => t.shape), ['100000×1152×4304 q8', '2000×32×64 q8']);
  // a class the model does not run keeps its fixed trial; no workload: the fixed trial
  assert.deepEqual(timingsOf('gemm', 'midK', w).map((t) => [t.trial, t.calls]), [[TRIALS.gemm.midK, 1]]);
  assert.deepEqual(timingsOf('gemm', 'smallK').map((t) => t.trial), [TRIALS.gemm.smallK]);
});

test('measureClass on a workload: the total over its sizes × calls; a candidate that cannot run one size is out', async () => {
  // A variant that throws from 50 columns up (a device limit, say: the class's first size) joins the
  // table for this test only. (Failing on the first size is deterministic: on a later one, a noisy
  // first timing of a few µs could drop it as slow before it ever ran there.)
  const table = CANDIDATES.softmax as unknown as { name: string; params: { wg: number }; run: (c: { x: Tensor }, p: { wg: number }) => Tensor }[];
  const good = table.find((c) => c.name === defaultVariant(policyFor(gpu).adapterClass, 'softmax', 'narrow'))!;
  table.push({ name: 'limited', params: good.params, run: (c, p) => { if (c.x.shape[1]! >= 50) throw new Error('too wide'); return good.run(c, p); } });
  const timer = new GpuTimer(gpu);
  try {
    const m = await measureClass(gpu, timer, 'softmax', 'narrow', 'f32', 1, softmaxWorkload);
    assert.deepEqual(m.shapes?.map((s) => [s.shape, s.calls]), [['64×96', 10], ['300×40', 2]]);
    assert.equal(m.shape, '64×96 ×10, 300×40 ×2');
    const total = m.shapes!.reduce((sum, s) => sum + s.calls * s.ms, 0);
    assert.ok(Math.abs(m.ms - total) <= 1e-9 * total, `${m.ms} is the calls-weighted sum ${total}`);
    assert.match(m.failed?.join() ?? '', /^limited on 64×96: too wide/);
    assert.ok(m.variant !== 'limited' && !m.runnersUp.some((r) => r.variant === 'limited'));
  } finally {
    table.pop();
    timer.destroy();
  }
});

test('loadPolicy with a workload: a table of its own; the fixed-trial table stands in until one exists; read mode never tunes', async () => {
  const store = memoryStore();
  const workload = () => softmaxWorkload;
  const generic = `policy-${policyKeyId(policyKey(gpu))}`;
  const own = `${generic}-${workloadId(softmaxWorkload)}`;
  assert.notEqual(own, generic);
  await loadPolicy(gpu, { store, ops: ['softmax'], mode: 'read', workload });
  assert.equal(store.entries.size, 0, 'read: nothing cached, nothing measured');
  // The adapter's table of fixed trials exists: a model without its own uses it, measuring nothing.
  const logs: string[] = [];
  store.entries.set(generic, JSON.stringify({ schema: 1, key: policyKey(gpu), created: '', tuneMs: 0, fma: { f32: 1, f16: null }, dtype: 'f32',
    winners: { 'softmax:narrow': { variant: 'row.wg8', ms: 1, shape: 'hand-written', runnersUp: [] } } } satisfies TunedTable));
  let p = await loadPolicy(gpu, { store, ops: ['softmax'], mode: 'auto', workload, log: (s) => logs.push(s) });
  assert.equal(p.choose('softmax', 'narrow').candidate.name, 'row.wg8');
  assert.ok(!logs.some((l) => l.startsWith('tuning')), logs.join('\n'));
  // `tune --model`: measured on the workload's sizes, cached under its own key.
  p = await loadPolicy(gpu, { store, ops: ['softmax'], mode: 'force', workload });
  const saved = JSON.parse(store.entries.get(own)!) as TunedTable;
  assert.equal(saved.workload, 'two softmax sizes');
  assert.deepEqual(saved.winners['softmax:narrow']!.shapes!.map((s) => s.shape), ['64×96', '300×40']);
  assert.deepEqual(saved.winners['softmax:wide']!.shapes!.map((s) => s.shape), ['8×4000']);
  assert.equal(p.tuned?.workload, 'two softmax sizes');
  policyFor(gpu).useTuned(undefined);
});
