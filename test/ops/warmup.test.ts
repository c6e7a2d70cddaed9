// Pipelines built ahead (KernelCache.prepare, ops/warmup.ts): a later get() finds them ready and
// they compute what a pipeline built on the spot computes; what cannot be built is skipped
// without an error, and the list of a model's kernels round-trips through the policy store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../src/wgsl/index.js';
import { requestGpu, type Gpu } from '../../src/core/device.js';
import { DeviceError } from '../../src/core/errors.js';
import type { KernelSpec } from '../../src/core/kernel.js';
import { Tensor } from '../../src/core/tensor.js';
import { add, mul } from '../../src/ops/elementwise.js';
import { gelu } from '../../src/ops/activation.js';
import { softmax } from '../../src/ops/softmax.js';
import { memoryStore } from '../../src/ops/policy_store.js';
import { vecDefines, vecSpec } from '../../src/ops/vector.js';
import { warmUpKernels } from '../../src/ops/warmup.js';

/** A few ops of odd sizes (several kernels); their outputs, read back. */
async function work(gpu: Gpu): Promise<Float32Array[]> {
  const x = Tensor.fromArray(gpu, Float32Array.from({ length: 7 * 13 }, (_, i) => Math.sin(i)), [7, 13]);
  const ys = [add(x, x), mul(x, x), softmax(x)];
  const out = await Promise.all(ys.map((y) => y.toArray() as Promise<Float32Array>));
  for (const t of [x, ...ys]) t.dispose();
  return out;
}

test('prepare() builds ahead: get() builds nothing more, and the results are the same', async () => {
  const a = await requestGpu(), b = await requestGpu();
  try {
    const ran = a.kernels.record();
    const want = await work(a);
    const specs = ran.specs();
    assert.ok(specs.length >= 3, `the ops built ${specs.length} kernels`);
    await b.kernels.prepare(specs);
    assert.equal(b.kernels.prepared, specs.length);
    const got = await work(b);
    assert.equal(b.kernels.compiled, 0, 'get() built again what prepare() had built');
    assert.deepEqual(got, want);
    b.check();
  } finally {
    a.destroy(); b.destroy();
  }
});

test('prepare() skips what cannot be built, silently; get() still reports it', async () => {
  const gpu = await requestGpu();
  try {
    const broken: KernelSpec = { source: 'binary', defines: { ...vecDefines(vecSpec('f32', 4)).defines, OP: 'x + true' }, constants: { WG: 64, CHUNK: 1 } };
    await gpu.kernels.prepare([broken, { source: 'no_such_kernel' }]);
    await gpu.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50)); // let any error scope settle
    assert.equal(gpu.kernels.prepared, 0);
    gpu.check(); // nothing leaked into the device's errors
    gpu.kernels.get(broken);
    await new Promise((r) => setTimeout(r, 50));
    assert.throws(() => gpu.check(), (e: unknown) => e instanceof DeviceError && /failed to compile/.test(e.message));
  } finally {
    gpu.destroy();
  }
});

test('warmUpKernels: a process lists what it built; the next one builds the list ahead', async () => {
  const store = memoryStore();
  let writes = 0;
  const counting = { ...store, save: async (k: string, t: string) => { writes++; await store.save(k, t); } };
  const a = await requestGpu(), b = await requestGpu(), off = await requestGpu();
  try {
    const ran = a.kernels.record();
    const first = await warmUpKernels(a, { store: counting, mode: 'auto' });
    assert.equal(first.listed, 0);
    await work(a);
    await first.save();
    assert.equal(writes, 1);
    await first.save(); // nothing new: no write
    assert.equal(writes, 1);
    const [[key, text]] = [...store.entries];
    assert.match(key!, /^kernels-[0-9a-f]{8}$/);
    assert.equal(JSON.parse(text!).specs.length, ran.specs().length);

    const second = await warmUpKernels(b, { store: counting, mode: 'auto' });
    assert.equal(second.listed, ran.specs().length);
    await b.kernels.ready();
    await work(b);
    assert.equal(b.kernels.compiled, 0, 'the listed kernels were built again on the spot');

    // A store that cannot be written: the list is a hint, so the question goes on (one line said).
    const logs: string[] = [];
    const readOnly = { ...store, where: (k: string) => `ro:${k}`, load: async () => undefined, save: async () => { throw new Error('EROFS: read-only file system'); } };
    const c = await requestGpu();
    try {
      const ro = await warmUpKernels(c, { store: readOnly, mode: 'auto', log: (s) => logs.push(s) });
      await work(c);
      await ro.save();
      assert.deepEqual(logs.map((l) => l.replace(/kernels-[\w.-]+/, 'K')), ['cannot write ro:K: EROFS: read-only file system']);
    } finally {
      c.destroy();
    }

    const none = await warmUpKernels(off, { store: counting, mode: 'off' });
    assert.equal(none.listed, 0);
    await work(off);
    await none.save();
    assert.equal(writes, 1, 'mode off wrote a list');
    assert.ok(off.kernels.compiled > 0);
  } finally {
    a.destroy(); b.destroy(); off.destroy();
  }
});

test('warmUpKernels lists what ran after it started, not what was built before (the tuner\'s trials)', async () => {
  const store = memoryStore();
  const gpu = await requestGpu();
  try {
    const x = Tensor.fromArray(gpu, Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);
    const before = [mul(x, x), softmax(x)]; // built (and run) before: what tuning does
    const warm = await warmUpKernels(gpu, { store, mode: 'auto' });
    const after = [add(x, x), mul(x, x)]; // mul again: built before, but this question ran it
    await Promise.all([...before, ...after].map((t) => t.toArray()));
    await warm.save();
    const [[, text]] = [...store.entries];
    const ops = (JSON.parse(text!).specs as KernelSpec[]).map((s) => `${s.source}:${s.defines?.OP ?? ''}`).sort();
    assert.deepEqual(ops, ['binary:x * z', 'binary:x + z']);
    for (const t of [x, ...before, ...after]) t.dispose();
  } finally {
    gpu.destroy();
  }
});

test('a pointwise op builds one pipeline for every size (a listed kernel serves every question)', async () => {
  const gpu = await requestGpu();
  const ran = gpu.kernels.record();
  try {
    for (const n of [8, 12, 4000, 4004]) { // all in vec4 units
      const x = Tensor.fromArray(gpu, new Float32Array(n).fill(0.5), [n]);
      for (const y of [gelu(x, 'tanh'), add(x, x)]) { await y.toArray(); y.dispose(); }
      x.dispose();
    }
    assert.equal(gpu.kernels.compiled, 2, ran.specs().map((s) => JSON.stringify(s.defines)).join('\n'));
  } finally {
    gpu.destroy();
  }
});
