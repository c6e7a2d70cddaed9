// attentionSmall (the small-head-dim variant) against ops/reference/attention over odd shapes:
// query rows 1, primes and counts that leave the last workgroup part-filled (QR·WG does not divide
// Lq·G), GQA groups, causal or not, spare cache rows, f32 and f16, and several QR/WG.
// Tolerances as for attention() (test/ops/attention.test.ts, where they are justified): f32 atol
// 2e-5 + rtol 1e-4; f16 inputs rounded to f16 first, f32 math, one rounding of the output: 2^-10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { attentionSmall, SMALL_MAX_D, type SmallAttentionParams } from '../../src/ops/attention_small.js';
import { attentionRef } from '../../src/ops/reference/attention.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const DTYPES = gpu.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
type FDType = 'f32' | 'f16';
const TOL = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 2e-5, rtol: 2 ** -10 } };

function input(n: number, seed: number, shape: number[], dtype: FDType, poison?: (a: Float32Array) => void): [Float32Array, Tensor] {
  let a = randomArray(n, seed);
  if (dtype === 'f16') a = fromF16(toF16(a));
  poison?.(a);
  return [a, dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), shape, 'f16') : Tensor.fromArray(gpu, a, shape)];
}

const arb = fc.record({
  Lq: fc.constantFrom(1, 2, 7, 13, 37), hk: fc.constantFrom([1, 1], [2, 1], [2, 2], [3, 1], [4, 2]),
  D: fc.constantFrom(3, 16, 24), extra: fc.constantFrom(0, 1, 6, 29), spare: fc.constantFrom(0, 3),
  causal: fc.boolean(), prm: fc.constantFrom<SmallAttentionParams>({ qr: 4, wg: 8 }, { qr: 3, wg: 4 }),
  dtype: fc.constantFrom(...DTYPES), seed: fc.nat(),
});

test('attentionSmall matches the reference over odd shapes, GQA, causal masks, QR/WG and dtypes', async () => {
  await fc.assert(fc.asyncProperty(arb, async ({ Lq, hk, D, extra, spare, causal, prm, dtype, seed }) => {
    const [Hq, Hkv] = hk as [number, number];
    const kvLength = causal ? Lq + extra : extra + 1;
    const Lmax = kvLength + spare;
    // Cache rows past kvLength hold NaN: they must never be read.
    const poison = (a: Float32Array) => { for (let h = 0; h < Hkv; h++) a.fill(NaN, (h * Lmax + kvLength) * D, (h + 1) * Lmax * D); };
    let want: Float32Array | undefined;
    const out = scope(() => {
      const [q, tq] = input(Lq * Hq * D, seed, [Lq, Hq, D], dtype);
      const [k, tk] = input(Hkv * Lmax * D, seed + 1, [Hkv, Lmax, D], dtype, poison);
      const [v, tv] = input(Hkv * Lmax * D, seed + 2, [Hkv, Lmax, D], dtype, poison);
      want = attentionRef(q, k, v, { Lq, Hq, Hkv, D, Lmax, kvLength, causal, qOffset: causal ? kvLength - Lq : 0, scale: 1 / Math.sqrt(D) });
      return attentionSmall(tq, tk, tv, { causal, kvLength }, prm);
    });
    const got = await out.toArray();
    out.dispose();
    assertClose(got, dtype === 'f16' ? fromF16(toF16(want!)) : want!, TOL[dtype], `attentionSmall ${dtype} Lq ${Lq} H ${Hq}/${Hkv} D ${D} kv ${kvLength}/${Lmax} causal ${causal} ${JSON.stringify(prm)}`);
  }), { numRuns: 16 });
});

test('attentionSmall refuses head dims over its limit and bad shapes before any GPU work', () => {
  const D = SMALL_MAX_D + 8;
  const q = Tensor.zeros(gpu, [2, 1, D]), kv = Tensor.zeros(gpu, [1, 2, D]), k3 = Tensor.zeros(gpu, [1, 2, 8]);
  assert.throws(() => attentionSmall(q, kv, kv, { causal: false }), (e: Error) => e.name === 'ShapeError' && e.message.includes(`head dim ${D}`));
  assert.throws(() => attentionSmall(q, k3, k3, { causal: false }), (e: Error) => e.name === 'ShapeError' && /attentionSmall: head dims/.test(e.message));
  q.dispose(); kv.dispose(); k3.dispose();
});
