// embedding (Tensor and SplitWeight tables, dtype conversion, clamped GPU ids, checked host ids),
// gatherRows and lerpRows against references. Gathers are exact (a copy, or one RNE conversion to
// f16, which the reference does too). lerpRows: f32 arithmetic on both sides; allow 1 ulp
// (2^-23 relative) for a fused multiply-add, f16: 1 ulp of the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { ShapeError, DTypeError } from '../../src/core/errors.js';
import { SplitWeight } from '../../src/ops/linear.js';
import { embedding, embeddingFromIds, gatherRows, lerpRows } from '../../src/ops/gather.js';
import { gatherRef, lerpRowsRef } from '../../src/ops/reference/gather.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dtypes = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
const exact = { atol: 0, rtol: 0 };
const up = (a: Float32Array, shape: number[], dtype: 'f32' | 'f16') =>
  dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), shape, 'f16') : Tensor.fromArray(gpu, a, shape);
const asStored = (a: Float32Array, dtype: 'f32' | 'f16') => (dtype === 'f16' ? fromF16(toF16(a)) : a);

/** Splits rows [0, V) at the given cut points into part tensors of one SplitWeight. */
function split(table: Float32Array, V: number, C: number, cuts: number[], dtype: 'f32' | 'f16'): SplitWeight {
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < V).sort((a, b) => a - b), V];
  const parts = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (bounds[i + 1]! > bounds[i]!) parts.push(up(table.slice(bounds[i]! * C, bounds[i + 1]! * C), [bounds[i + 1]! - bounds[i]!, C], dtype));
  }
  return new SplitWeight(parts, [V, C], 'table');
}

for (const dtype of dtypes) {
  for (const outT of dtypes) {
    test(`embedding gathers rows, Tensor and SplitWeight tables (${dtype} -> ${outT})`, async () => {
      await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 5, 17, 64), fc.constantFrom(1, 2, 3, 4, 7, 8, 67), fc.integer({ min: 0, max: 40 }),
        fc.array(fc.nat(70), { maxLength: 4 }), fc.nat(), async (V, C, L, cuts, seed) => {
          const table = asStored(randomArray(V * C, seed, 3), dtype);
          // ids include out-of-range values on both sides: the kernel clamps them.
          const ids = Int32Array.from({ length: L }, (_, i) => ((seed + i * 7919) % (V + 6)) - 3);
          const want = gatherRef(table, C, ids, outT);
          for (const useSplit of [false, true]) {
            const y = scope(() => {
              const t = useSplit ? split(table, V, C, cuts, dtype) : up(table, [V, C], dtype);
              return embedding(t, Tensor.fromArray(gpu, ids, [L]), outT);
            });
            assert.equal(y.dtype, outT);
            const got = await y.toArray();
            y.dispose();
            assertClose(got, want, exact, `embedding ${dtype}->${outT} V=${V} C=${C} L=${L} split=${useSplit} cuts=${cuts}`);
          }
        }), { numRuns: 20 });
    });
  }
  test(`gatherRows and lerpRows match the reference (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 3, 100), fc.constantFrom(1, 3, 4, 5, 64, 130), fc.integer({ min: 0, max: 30 }), fc.nat(), async (V, C, M, seed) => {
      const table = asStored(randomArray(V * C, seed, 3), dtype);
      const index = Uint32Array.from({ length: M }, (_, i) => (seed + 13 * i) % V);
      const i0 = Array.from(index), i1 = i0.map((i) => Math.min(i + 1, V - 1));
      const w = Array.from(randomArray(M, seed + 3, 0.5)).map((v) => v + 0.5);
      const [g, l] = scope(() => {
        const t = up(table, [V, C], dtype);
        return [gatherRows(t, Tensor.fromArray(gpu, index, [M])), lerpRows(t, i0, i1, w)];
      });
      assertClose(await g.toArray(), gatherRef(table, C, index, dtype), exact, `gatherRows ${dtype} V=${V} C=${C} M=${M}`);
      assertClose(await l.toArray(), lerpRowsRef(table, C, i0, i1, w, dtype), dtype === 'f32' ? { atol: 1e-6, rtol: 2 ** -23 } : { atol: 1e-4, rtol: 2 ** -10 }, `lerpRows ${dtype}`);
      g.dispose(); l.dispose();
    }), { numRuns: 20 });
  });
}

test('embeddingFromIds checks host ids before any GPU work, then gathers', async () => {
  const table = randomArray(6 * 4, 1, 1);
  const t = Tensor.fromArray(gpu, table, [6, 4], 'f32', 'embed_tokens');
  assert.throws(() => embeddingFromIds(t, Int32Array.from([0, 6])),
    (e: unknown) => e instanceof ShapeError && /id 6 at position 1/.test(e.message) && /embed_tokens/.test(e.message));
  const y = embeddingFromIds(t, Int32Array.from([5, 0, 2]));
  assertClose(await y.toArray(), gatherRef(table, 4, [5, 0, 2]), exact, 'embeddingFromIds');
  y.dispose(); t.dispose();
});

test('gather errors name the tensors', () => {
  scope(() => {
    assert.throws(() => gatherRows(Tensor.zeros(gpu, [3, 2]), Tensor.zeros(gpu, [2], 'i32', 'idx')), (e: unknown) => e instanceof DTypeError && /idx/.test(e.message));
    assert.throws(() => lerpRows(Tensor.zeros(gpu, [3, 2], 'f32', 'tab'), [0], [3], [0.5]), (e: unknown) => e instanceof ShapeError && /tab/.test(e.message) && /\[3, 2\]/.test(e.message));
  });
});
