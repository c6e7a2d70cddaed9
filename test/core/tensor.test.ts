import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { scope, keep } from '../../src/core/registry.js';
import { LimitError, OwnershipError, ShapeError } from '../../src/core/errors.js';
import { add } from '../../src/ops/elementwise.js';
import { testGpu } from '../support/gpu.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';

const gpu = await testGpu();

test('round trip of every dtype', async () => {
  const f = new Float32Array([1.5, -2, 3.25, 0]);
  assert.deepEqual(await Tensor.fromArray(gpu, f, [2, 2]).read(), f);
  const i = new Int32Array([-7, 0, 2147483647]);
  assert.deepEqual(await Tensor.fromArray(gpu, i, [3]).read(), i);
  const u = new Uint32Array([4294967295, 1]);
  assert.deepEqual(await Tensor.fromArray(gpu, u, [2]).read(), u);
  // f16: 3 elements = 6 bytes, not a multiple of 4: the upload pads.
  const h = toF16([0.5, -65504, 1 / 3]);
  const back = await Tensor.fromArray(gpu, h, [3], 'f16').read();
  assert.deepEqual(back, h);
  assert.deepEqual(Array.from(fromF16(h)), [0.5, -65504, 0.333251953125]);
});

test('1000 tensors created and disposed in scopes leave the live byte count where it started', async () => {
  const start = { bytes: gpu.tensors.liveBytes, buffers: gpu.tensors.liveBuffers };
  for (let round = 0; round < 10; round++) {
    const kept = scope(() => {
      let acc = Tensor.zeros(gpu, [17], 'f32', 'acc');
      for (let i = 0; i < 98; i++) acc = add(acc, Tensor.fromArray(gpu, new Float32Array(17).fill(1), [17], 'f32', `one${i}`));
      return acc; // 1 + 98 ones + 98 sums = 197 tensors made, 1 kept
    });
    assert.equal((await kept.read())[16], 98);
    kept.dispose();
  }
  // 10 rounds × (1 + 98 + 98) ≈ 2000 tensors in all
  assert.equal(gpu.tensors.liveBytes, start.bytes);
  assert.equal(gpu.tensors.liveBuffers, start.buffers);
  assert.ok(gpu.pool.reused > 1000, `the pool reused ${gpu.pool.reused} buffers`);
});

test('a scope keeps what it returns (nested), and keep() escapes every scope', () => {
  const before = gpu.tensors.liveBuffers;
  let escaped: Tensor | undefined;
  const outer = scope(() => {
    const inner = scope(() => {
      escaped = keep(Tensor.zeros(gpu, [3]));
      Tensor.zeros(gpu, [3]);
      return { a: Tensor.zeros(gpu, [2]), list: [Tensor.zeros(gpu, [1])] };
    });
    return inner.a;
  });
  assert.equal(gpu.tensors.liveBuffers, before + 2); // outer result + escaped
  outer.dispose();
  escaped!.dispose();
  assert.equal(gpu.tensors.liveBuffers, before);
});

test('a scope frees its tensors when the function throws', () => {
  const before = gpu.tensors.liveBuffers;
  assert.throws(() => scope(() => { Tensor.zeros(gpu, [5]); throw new ShapeError('boom'); }), ShapeError);
  assert.equal(gpu.tensors.liveBuffers, before);
});

test('reshape shares storage; use after dispose and double dispose are typed errors', async () => {
  const t = Tensor.fromArray(gpu, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'f32', 'x');
  const v = t.reshape([3, 2]);
  t.dispose();
  assert.deepEqual(Array.from(await v.read()), [1, 2, 3, 4, 5, 6]); // the view keeps the storage alive
  v.dispose();
  assert.throws(() => v.binding(), OwnershipError);
  assert.throws(() => v.dispose(), /disposed twice/);
  assert.throws(() => Tensor.zeros(gpu, [2, 3]).reshape([4, 2]), /6 elements.*8/);
});

test('a buffer over the device limit is refused before any GPU call, naming the tensor and the limit', () => {
  const huge = Math.floor(gpu.limits.maxBufferSize / 4) + 1;
  assert.throws(() => Tensor.empty(gpu, [huge], 'f32', 'model.embed_tokens.weight'),
    (e: unknown) => e instanceof LimitError && /model\.embed_tokens\.weight/.test(e.message) && /maxBufferSize/.test(e.message));
  assert.throws(() => Tensor.fromArray(gpu, new Float32Array(3), [2, 2], 'f32', 'bad'), /bad: 12 bytes of data for shape \[2, 2\]/);
  assert.throws(() => Tensor.empty(gpu, [2, -1]), ShapeError);
});

test('an upload into a pooled buffer that queued work still reads does not overtake that work', async () => {
  const a = Tensor.fromArray(gpu, new Float32Array([1, 1, 1, 1]), [4]);
  const b = Tensor.fromArray(gpu, new Float32Array([2, 2, 2, 2]), [4]);
  const sum = add(a, b); // recorded, not submitted
  b.dispose(); // b's buffer goes back to the pool while the add still has to read it
  const c = Tensor.fromArray(gpu, new Float32Array([100, 100, 100, 100]), [4]); // likely gets b's buffer
  assert.deepEqual(Array.from(await sum.read()), [3, 3, 3, 3]);
  a.dispose(); c.dispose(); sum.dispose();
});
