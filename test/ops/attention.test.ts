// attention, transposeHeads, writeKV against ops/reference/attention over odd shapes.
// Tolerances. f32: scores sum D products in f32 (relative error ~D·2^-24 of Σ|q·k|·scale, <1e-6
// here) and the output is a convex combination of |v| <= 1 summed over up to 2600 keys in f32 with
// a different (online, rescaled) order than the float64 reference: atol 2e-5 + rtol 1e-4, ~100×
// above the errors seen, far below a bug (a wrong key, head or mask gives O(0.1) errors).
// f16: inputs are rounded to f16 before the reference sees them, the math is f32, and the output
// is rounded to f16 once: 1 ulp (2^-10 relative) + the f32 atol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { DTypeError, ShapeError } from '../../src/core/errors.js';
import { attention, transposeHeads, writeKV, type AttentionTuning } from '../../src/ops/attention.js';
import { attentionRef, relayoutRef } from '../../src/ops/reference/attention.js';
import { CANDIDATES, policyFor } from '../../src/ops/policy.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const DTYPES = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
type FDType = 'f32' | 'f16';
const TOL = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 2e-5, rtol: 2 ** -10 } };

/** Random data already representable in the dtype, and its tensor. */
function input(n: number, seed: number, shape: number[], dtype: FDType, name: string, poison?: (a: Float32Array) => void): [Float32Array, Tensor] {
  let a = randomArray(n, seed);
  if (dtype === 'f16') a = fromF16(toF16(a));
  poison?.(a);
  return [a, dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), shape, 'f16', name) : Tensor.fromArray(gpu, a, shape, 'f32', name)];
}

interface Case { Lq: number; Hq: number; Hkv: number; D: number; extra: number; spare: number; causal: boolean; split: boolean }

async function check(c: Case, dtype: FDType, seed: number, scale?: number): Promise<void> {
  const kvLength = c.causal ? c.Lq + c.extra : c.extra + 1;
  const Lmax = kvLength + c.spare;
  // Cache rows past kvLength hold NaN: they must never be read (0·NaN would leak into the output).
  const poison = (a: Float32Array) => { for (let h = 0; h < c.Hkv; h++) a.fill(NaN, (h * Lmax + kvLength) * c.D, (h + 1) * Lmax * c.D); };
  const qOffset = c.causal ? kvLength - c.Lq : 0;
  const tuning: AttentionTuning = c.split ? { minWorkgroups: 1e6, minChunk: 4 } : {};
  const refScale = scale ?? 1 / Math.sqrt(c.D);
  let want: Float32Array | undefined;
  const out = scope(() => {
    const [q, tq] = input(c.Lq * c.Hq * c.D, seed, [c.Lq, c.Hq, c.D], dtype, 'q');
    const [k, tk] = input(c.Hkv * Lmax * c.D, seed + 1, [c.Hkv, Lmax, c.D], dtype, 'k', poison);
    const [v, tv] = input(c.Hkv * Lmax * c.D, seed + 2, [c.Hkv, Lmax, c.D], dtype, 'v', poison);
    want = attentionRef(q, k, v, { ...c, Lmax, kvLength, qOffset, scale: refScale });
    return attention(tq, tk, tv, { causal: c.causal, kvLength, ...(scale !== undefined ? { scale } : {}) }, tuning);
  });
  const got = await out.toArray();
  out.dispose();
  const ref = dtype === 'f16' ? fromF16(toF16(want!)) : want!;
  assertClose(got, ref, TOL[dtype], `attention ${dtype} ${JSON.stringify(c)}`);
}

const heads = fc.constantFrom([1, 1], [2, 1], [4, 2], [3, 3], [7, 1]);
const caseArb = fc.record({
  Lq: fc.constantFrom(1, 2, 3, 7, 13, 81), hk: heads, D: fc.constantFrom(6, 8, 16, 72, 128),
  extra: fc.constantFrom(0, 1, 5, 30), spare: fc.constantFrom(0, 1, 3), causal: fc.boolean(), split: fc.boolean(),
}).map(({ hk, ...r }) => ({ ...r, Hq: hk[0]!, Hkv: hk[1]! }));

for (const dtype of DTYPES) {
  // Every variant of the policy's table (ops/policy.ts), forced in turn.
  for (const v of CANDIDATES.attention) {
    test(`attention ${v.name} matches the reference over odd shapes, causal and not, split and not (${dtype})`, async () => {
      policyFor(gpu).force(`attention=${v.name}`);
      try {
        await fc.assert(fc.asyncProperty(caseArb, fc.nat(1000), async (c, seed) => check(c, dtype, seed)), { numRuns: 15 });
      } finally {
        policyFor(gpu).force('');
      }
    });
  }

  test(`attention: SigLIP length 729, head dim 72, custom scale (${dtype})`, async () => {
    await check({ Lq: 729, Hq: 2, Hkv: 2, D: 72, extra: 728, spare: 0, causal: false, split: false }, dtype, 7, 0.3);
  });

  test(`attention: decode, one query over 600 cached keys, GQA 7:1, head dim 128 (${dtype})`, async () => {
    await check({ Lq: 1, Hq: 14, Hkv: 2, D: 128, extra: 599, spare: 17, causal: true, split: false }, dtype, 11);
  });
}

test('attention: causal prefill of 2600 tokens (f32, one head pair, D = 16)', async () => {
  await check({ Lq: 2600, Hq: 2, Hkv: 1, D: 16, extra: 0, spare: 0, causal: true, split: false }, 'f32', 3);
});

test('attention: a chunk of new queries after cached keys (qOffset > 0), split and not', async () => {
  for (const split of [false, true]) await check({ Lq: 13, Hq: 4, Hkv: 2, D: 16, extra: 70, spare: 9, causal: true, split }, 'f32', 5);
});

for (const dtype of DTYPES) {
  test(`transposeHeads and writeKV move every element where the reference does (${dtype})`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 7, 13), fc.constantFrom(1, 3, 4), fc.constantFrom(1, 6, 8, 16, 72),
      fc.nat(20), fc.nat(5), fc.nat(1000), async (L, H, D, off, spare, seed) => {
        const Lmax = off + L + spare;
        const cache0 = randomArray(H * Lmax * D, seed + 9);
        const [x, tx] = input(L * H * D, seed, [L, H, D], dtype, 'x');
        const c0 = dtype === 'f16' ? fromF16(toF16(cache0)) : cache0;
        const cache = dtype === 'f16' ? Tensor.fromArray(gpu, toF16(c0), [H, Lmax, D], 'f16', 'cache') : Tensor.fromArray(gpu, c0, [H, Lmax, D], 'f32', 'cache');
        writeKV(cache, tx, off);
        const t = transposeHeads(tx);
        assert.deepEqual(t.shape, [H, L, D]);
        assertClose(await cache.toArray(), relayoutRef(x, L, H, D, c0, Lmax, off), { atol: 0, rtol: 0 }, `writeKV L=${L} H=${H} D=${D} off=${off}`);
        assertClose(await t.toArray(), relayoutRef(x, L, H, D, new Float32Array(H * L * D), L, 0), { atol: 0, rtol: 0 }, `transposeHeads ${L}×${H}×${D}`);
        for (const z of [cache, tx, t]) z.dispose();
      }), { numRuns: 25 });
  });
}

test('typed errors before any GPU work: shapes name the op and the shapes, dtypes the tensor', () => {
  scope(() => {
    const q = Tensor.zeros(gpu, [3, 4, 8], 'f32', 'q'), k = Tensor.zeros(gpu, [2, 10, 8], 'f32', 'k');
    const k3 = Tensor.zeros(gpu, [3, 10, 8], 'f32', 'k3'), v6 = Tensor.zeros(gpu, [2, 10, 6], 'f32', 'v6');
    assert.throws(() => attention(q, k3, k3, { causal: false }), (e: unknown) => e instanceof ShapeError && /attention/.test(e.message) && /\[3, 4, 8\]/.test(e.message) && /\[3, 10, 8\]/.test(e.message));
    assert.throws(() => attention(q, k, v6, { causal: false }), (e: unknown) => e instanceof ShapeError && /\[2, 10, 6\]/.test(e.message));
    assert.throws(() => attention(q, k, k, { causal: false, kvLength: 11 }), (e: unknown) => e instanceof ShapeError && /kvLength 11/.test(e.message));
    assert.throws(() => attention(q, k, k, { causal: true, kvLength: 2 }), (e: unknown) => e instanceof ShapeError && /kvLength 2/.test(e.message));
    const ki = Tensor.zeros(gpu, [2, 10, 8], 'i32', 'kint');
    assert.throws(() => attention(q, ki, k, { causal: false }), (e: unknown) => e instanceof DTypeError && /kint/.test(e.message));
    const x = Tensor.zeros(gpu, [4, 2, 8], 'f32', 'newk');
    assert.throws(() => writeKV(k, x, 7), (e: unknown) => e instanceof ShapeError && /writeKV/.test(e.message) && /7\.\.10/.test(e.message));
    assert.throws(() => writeKV(k, Tensor.zeros(gpu, [4, 3, 8]), 0), (e: unknown) => e instanceof ShapeError && /\[4, 3, 8\]/.test(e.message));
    assert.throws(() => transposeHeads(Tensor.zeros(gpu, [4, 8])), ShapeError);
  });
});
