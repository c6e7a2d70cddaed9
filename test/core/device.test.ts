// The device's failure modes become typed errors that say what happened and what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../src/wgsl/index.js';
import { requestGpu } from '../../src/core/device.js';
import { DeviceError, LimitError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import { add } from '../../src/ops/elementwise.js';
import { linear } from '../../src/ops/linear.js';
import { vecDefines, vecSpec } from '../../src/ops/vector.js';
import { kernelLibraryDigest, kernelSourceNames, registerKernelSnippets, registerKernelSources, specialize } from '../../src/core/kernel.js';
import { policyLibraryVersion } from '../../src/ops/policy.js';
import { GpuTimer } from '../../src/core/timer.js';

test('no adapter: the error names the remedy (lavapipe >= 25, XDG_RUNTIME_DIR)', async () => {
  // A backend this Linux build of Dawn does not have: requestAdapter() finds nothing.
  await assert.rejects(requestGpu({ backend: 'd3d12' }), (e: unknown) =>
    e instanceof DeviceError && /lavapipe >= 25/.test(e.message) && /XDG_RUNTIME_DIR/.test(e.message) && /bookworm-backports/.test(e.message));
});

test('a WGSL compile error surfaces at the next call as a DeviceError naming the kernel', async () => {
  const gpu = await requestGpu();
  try {
    // `binary` with an operator expression that does not type-check.
    const a = Tensor.zeros(gpu, [4]);
    gpu.kernels.get({ source: 'binary', defines: { ...vecDefines(vecSpec('f32', 4)).defines, OP: 'x + true' }, constants: { WG: 64, CHUNK: 1 } });
    await gpu.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50)); // let the error scope's promise settle
    assert.throws(() => add(a, a), (e: unknown) => e instanceof DeviceError && /binary/.test(e.message) && /failed to compile/.test(e.message));
  } finally {
    gpu.destroy();
  }
});

test('device loss: every later call throws a DeviceError instead of computing zeros', async () => {
  const gpu = await requestGpu();
  const a = Tensor.fromArray(gpu, new Float32Array([1, 2]), [2]);
  gpu.device.destroy(); // what a driver reset looks like to the page
  await gpu.device.lost;
  assert.throws(() => add(a, a), (e: unknown) => e instanceof DeviceError && /lost/.test(e.message));
  await assert.rejects(gpu.sync(), DeviceError);
});

test('a binding over maxStorageBufferBindingSize is refused before any GPU call, naming the tensor', async () => {
  const gpu = await requestGpu({ limitOverrides: { maxStorageBufferBindingSize: 1024 } });
  try {
    const big = Tensor.zeros(gpu, [300], 'f32', 'model.layers.0.mlp.gate_proj.weight'); // 1200 B
    const before = gpu.stream.dispatches;
    assert.throws(() => add(big, big), (e: unknown) => e instanceof LimitError && /gate_proj/.test(e.message) && /1024/.test(e.message));
    assert.equal(gpu.stream.dispatches, before);
  } finally {
    gpu.destroy();
  }
});

test('specialize: a missing placeholder value is an error naming the kernel and the key', () => {
  assert.throws(() => specialize({ source: 'k', defines: {} }, 'let x = {{T}}(1);'), /kernel k: no value for the placeholder \{\{T\}\}/);
  assert.equal(specialize({ source: 'k', defines: { T: 'f16' }, enables: ['f16'] }, 'let x = {{T}}(1);'), 'enable f16;\nlet x = f16(1);');
});

test('kernel sources are registered from outside: a caller\'s own kernel runs; unknown and clashing names are typed errors', async () => {
  const gpu = await requestGpu();
  try {
    const fill = '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n'
      + '@compute @workgroup_size(1) fn main(@builtin(workgroup_id) w: vec3<u32>) { y[w.x] = 7.0; }\n';
    registerKernelSources({ test_fill: fill });
    registerKernelSources({ test_fill: fill }); // the same text again: fine
    assert.throws(() => registerKernelSources({ test_fill: `${fill}// changed\n` }), (e: unknown) => e instanceof DeviceError && /test_fill/.test(e.message));
    const y = Tensor.zeros(gpu, [3]);
    gpu.kernels.get({ source: 'test_fill' }).dispatch([y.binding()], 3);
    assert.deepEqual([...await y.toArray()], [7, 7, 7]);
    assert.throws(() => gpu.kernels.get({ source: 'no_such_kernel' }), (e: unknown) => e instanceof DeviceError && /no_such_kernel/.test(e.message) && /registerKernelSources/.test(e.message));
    assert.ok(kernelSourceNames().includes('matmul_reg'));
  } finally {
    gpu.destroy();
  }
});

test('#include NAME: a registered snippet is spliced in before the placeholders, once per kernel; an unknown one is a typed error naming both', async () => {
  registerKernelSnippets({ test_twice: 'fn twice(v: {{T}}) -> {{T}} { return v + v; }', test_uses_twice: '#include test_twice\nfn four(v: {{T}}) -> {{T}} { return twice(twice(v)); }' });
  const code = specialize({ source: 'k', defines: { T: 'f32' } }, '#include test_uses_twice\n  #include test_twice\nlet x = four(1.0);');
  assert.equal(code, 'fn twice(v: f32) -> f32 { return v + v; }\nfn four(v: f32) -> f32 { return twice(twice(v)); }\n\nlet x = four(1.0);');
  assert.throws(() => specialize({ source: 'k_bad' }, '#include no_such_snippet\n'),
    (e: unknown) => e instanceof DeviceError && /kernel k_bad: #include no_such_snippet: no WGSL snippet/.test(e.message) && /test_twice/.test(e.message));
  assert.throws(() => registerKernelSnippets({ test_twice: 'changed' }), (e: unknown) => e instanceof DeviceError && /test_twice/.test(e.message));
  // A kernel that includes a snippet compiles and runs.
  const gpu = await requestGpu();
  try {
    registerKernelSources({ test_four: '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n#include test_uses_twice\n'
      + '@compute @workgroup_size(1) fn main(@builtin(workgroup_id) w: vec3<u32>) { y[w.x] = four(f32(w.x)); }\n' });
    const y = Tensor.zeros(gpu, [3]);
    gpu.kernels.get({ source: 'test_four', defines: { T: 'f32' } }).dispatch([y.binding()], 3);
    assert.deepEqual([...await y.toArray()], [0, 4, 8]);
    y.dispose();
  } finally {
    gpu.destroy();
  }
});

test('the kernel policy\'s library version hashes the registered kernels and snippets: any new or changed text changes it', () => {
  const before = policyLibraryVersion();
  const digest = kernelLibraryDigest();
  assert.equal(policyLibraryVersion(), before, 'stable while nothing is registered');
  registerKernelSnippets({ test_version_probe: '// a new snippet' });
  assert.notEqual(kernelLibraryDigest(), digest);
  assert.notEqual(policyLibraryVersion(), before);
  const mid = policyLibraryVersion();
  registerKernelSources({ test_version_kernel: '// a new kernel' });
  assert.notEqual(policyLibraryVersion(), mid);
});

test('GPU timestamps are not quantized (Dawn rounds them to 2^16 ns unless told not to)', async () => {
  const gpu = await requestGpu();
  const timer = new GpuTimer(gpu);
  try {
    if (!gpu.hasTimestamps) return; // nothing to check on an adapter without timestamp queries
    const x = Tensor.fromArray(gpu, new Float32Array(4096).fill(1), [4096]);
    const ns: number[] = [];
    for (let i = 0; i < 5; i++) ns.push(Math.round((await timer.time(() => add(x, x).dispose())).ms * 1e6));
    x.dispose();
    // With quantization both ends are multiples of 65536 ns, so every difference is too.
    assert.ok(ns.some((t) => t % 65536 !== 0), `every time a multiple of 65536 ns: ${ns.join(', ')}`);
  } finally {
    timer.destroy();
    gpu.destroy();
  }
});

test('waiting for the GPU does not spin the JS thread: Dawn\'s poll is re-queued on a timer, other setImmediate callers are not', async () => {
  const gpu = await requestGpu();
  const polite = globalThis.setImmediate;
  let polls = 0;
  globalThis.setImmediate = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (fn.name === '' && String(fn) === 'function () { [native code] }') polls++;
    return polite(fn, ...args);
  }) as typeof setImmediate;
  try {
    const x = Tensor.fromArray(gpu, new Float32Array(256 * 1024).fill(0.5), [256, 1024]);
    const w = Tensor.fromArray(gpu, new Float32Array(1024 * 1024).fill(0.25), [1024, 1024]);
    const t0 = performance.now();
    const y = linear(x, w);
    await y.read();
    const ms = performance.now() - t0;
    y.dispose(); x.dispose(); w.dispose();
    // A busy loop re-queues ~100 polls a millisecond here; a 1 ms timer at most one.
    assert.ok(polls <= 2 * ms + 10, `${polls} polls in ${ms.toFixed(0)} ms`);
    // A plain callback still runs as an immediate: before a timer queued first.
    const order: string[] = [];
    await new Promise<void>((done) => { setTimeout(() => { order.push('timer'); done(); }, 0); setImmediate(() => order.push('immediate')); });
    assert.deepEqual(order, ['immediate', 'timer']);
    assert.equal(typeof (polite as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.util.promisify.custom')], 'function', 'util.promisify(setImmediate) still works');
  } finally {
    globalThis.setImmediate = polite;
    gpu.destroy();
  }
});
