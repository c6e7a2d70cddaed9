// add/mul/sub with broadcasting against ops/reference over random shapes.
// Tolerance: f32 exact (one IEEE op per element on both sides); f16 within 1 ulp of the f16 result
// of the f32 reference (inputs are f16-representable, the GPU rounds once): 2^-10 relative.
import { test } from 'node:test';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { binary } from '../../src/ops/elementwise.js';
import { binaryRef } from '../../src/ops/reference/elementwise.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const dim: fc.Arbitrary<number> = fc.constantFrom(1, 2, 3, 5, 7, 13, 31, 64, 257);

// Two shapes that broadcast: start from one shape and set random dimensions of the other to 1,
// possibly dropping leading dimensions.
const shapes = fc.array(dim, { minLength: 1, maxLength: 4 }).chain((out) =>
  fc.tuple(fc.constant(out), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }), fc.nat(out.length - 1), fc.boolean()),
).map(([out, ones, drop, swap]) => {
  const other = out.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
  return swap ? [other, out] as const : [out, other] as const;
  // Bounded by the output (the larger of the two, either side after the swap): an unbounded one
  // (31×257×64×257 floats) is over a device's binding limit, a LimitError and not a property failure.
}).filter(([a, b]) => Math.max(a.reduce((x, y) => x * y, 1), b.reduce((x, y) => x * y, 1)) < 300000);

for (const dtype of ['f32', 'f16'] as const) {
  if (dtype === 'f16' && !gpu.hasF16) continue;
  test(`binary ops broadcast like the reference (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(shapes, fc.constantFrom('add', 'mul', 'sub') as fc.Arbitrary<'add' | 'mul' | 'sub'>, fc.nat(), async ([sa, sb], op, seed) => {
      let a = randomArray(sa.reduce((x, y) => x * y, 1), seed, 4);
      let b = randomArray(sb.reduce((x, y) => x * y, 1), seed + 1, 4);
      if (dtype === 'f16') { a = fromF16(toF16(a)); b = fromF16(toF16(b)); }
      const want = binaryRef(op, a, sa, b, sb);
      const got = await scope(() => {
        const ta = dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), sa, 'f16') : Tensor.fromArray(gpu, a, sa);
        const tb = dtype === 'f16' ? Tensor.fromArray(gpu, toF16(b), sb, 'f16') : Tensor.fromArray(gpu, b, sb);
        return binary(op, ta, tb);
      });
      const data = await got.toArray();
      got.dispose();
      const ref = dtype === 'f16' ? fromF16(toF16(want.data)) : want.data;
      assertClose(data, ref, dtype === 'f16' ? { atol: 1e-3, rtol: 2 ** -10 } : { atol: 0, rtol: 0 }, `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
    }), { numRuns: 60 });
  });
}

test('shape mismatch names the op and both shapes', async () => {
  const { ShapeError } = await import('../../src/core/errors.js');
  const { assert } = await import('node:console').then(() => import('node:assert/strict')).then((m) => ({ assert: m.default }));
  scope(() => {
    assert.throws(() => binary('add', Tensor.zeros(gpu, [2, 3]), Tensor.zeros(gpu, [4, 3])),
      (e: unknown) => e instanceof ShapeError && /add/.test(e.message) && /\[2, 3\]/.test(e.message) && /\[4, 3\]/.test(e.message));
  });
});
