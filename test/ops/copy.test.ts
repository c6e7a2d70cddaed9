// copyRows / sliceRows / concatRows against host slicing. Exact. Row sizes in bytes that are not
// multiples of 4 (f16 rows of odd length) take the halfword kernel; everything else buffer copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { ShapeError, DTypeError } from '../../src/core/errors.js';
import { copyRows, sliceRows, concatRows } from '../../src/ops/copy.js';
import { sliceRowsRef, concatRowsRef } from '../../src/ops/reference/copy.js';
import { testGpu } from '../support/gpu.js';

const gpu = await testGpu();

function data(n: number, seed: number, dtype: 'f32' | 'f16'): Float32Array | Uint16Array {
  // f16 tensors are raw bits here: copies move bits, they need no shader-f16.
  return dtype === 'f16' ? Uint16Array.from({ length: n }, (_, i) => (seed * 31 + i * 977) & 0xffff)
    : Float32Array.from({ length: n }, (_, i) => seed + i * 0.5);
}

for (const dtype of ['f32', 'f16'] as const) {
  test(`sliceRows, concatRows and copyRows move rows exactly (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3, 5, 8, 33), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }), fc.nat(), async (row, lens, seed) => {
      const parts = lens.map((l, i) => data(l * row, seed + i, dtype));
      const total = lens.reduce((a, b) => a + b, 0);
      const start = seed % (total + 1), end = start + ((seed >> 4) % (total - start + 1));
      const [cat, sl, dst] = scope(() => {
        const ts = parts.map((p, i) => Tensor.fromArray(gpu, p, [lens[i]!, row], dtype));
        const c = concatRows(ts);
        const s = sliceRows(c, start, end);
        // copy the slice back over another tensor's rows [1, 1 + len): neighbours must stay intact
        const d = Tensor.fromArray(gpu, data((end - start + 2) * row, seed + 99, dtype), [end - start + 2, row], dtype);
        copyRows(d, 1, s, 0, end - start);
        return [c, s, d];
      });
      const want = concatRowsRef(parts);
      assert.deepEqual(Array.from(await cat.read()), want, `concat ${dtype} row=${row} lens=${lens}`);
      assert.deepEqual(Array.from(await sl.read()), want.slice(start * row, end * row), `slice [${start}, ${end})`);
      const before = Array.from(data((end - start + 2) * row, seed + 99, dtype));
      const expect = [...before.slice(0, row), ...want.slice(start * row, end * row), ...before.slice((end - start + 1) * row)];
      assert.deepEqual(Array.from(await dst.read()), expect, 'copyRows keeps the rows around the destination');
      assert.deepEqual(Array.from(sliceRowsRef(Float32Array.from(want), row, start, end)), want.slice(start * row, end * row));
      for (const t of [cat, sl, dst]) t.dispose();
    }), { numRuns: 30 });
  });
}

test('copy errors name the op, tensors and ranges', () => {
  scope(() => {
    const a = Tensor.zeros(gpu, [4, 3], 'f32', 'a');
    assert.throws(() => sliceRows(a, 2, 5), (e: unknown) => e instanceof ShapeError && /\[2, 5\)/.test(e.message) && /\[4, 3\]/.test(e.message));
    assert.throws(() => concatRows([a, Tensor.zeros(gpu, [2, 4], 'f32', 'b')]), (e: unknown) => e instanceof ShapeError && /\[2, 4\]/.test(e.message) && /\[4, 3\]/.test(e.message));
    assert.throws(() => copyRows(a, 0, Tensor.zeros(gpu, [4, 3], 'f16', 'h'), 0, 1), (e: unknown) => e instanceof DTypeError && /h/.test(e.message));
  });
});
