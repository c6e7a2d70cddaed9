// The prefill-only attention variants against ops/reference/attention over odd shapes, each with
// its own parameters (not only the policy's): attentionSmall (head dims <= 32 in registers, QR rows
// an invocation) and attentionFlash (K/V tiles in workgroup memory shared by a block of pairs).
// Shapes: query rows 1, primes and counts that leave the last workgroup part-filled, key counts that
// are not multiples of the tiles, GQA groups, causal or not, spare cache rows holding NaN (never
// read), f32 and f16, head dims with and without a vec4 width and not a multiple of the slices.
// Tolerances as for attention() (test/ops/attention.test.ts, where they are justified): f32 atol
// 2e-5 + rtol 1e-4; f16 inputs rounded to f16 first, f32 math, one rounding of the output: 2^-10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16, fromF16 } from '../../src/core/dtype.js';
import { Gpu } from '../../src/core/device.js';
import type { AttentionOptions } from '../../src/ops/attention.js';
import { attentionSmall, type SmallAttentionParams } from '../../src/ops/attention_small.js';
import { CANDIDATES, Policy } from '../../src/ops/policy.js';
import { attentionFlash, flashTileKeys, type FlashAttentionParams } from '../../src/ops/attention_flash.js';
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

type Run<P> = (q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, p: P) => Tensor;
interface Variant<P> { name: string; run: Run<P>; params: fc.Arbitrary<P>; D: fc.Arbitrary<number>; runs: number }

const VARIANTS: Variant<any>[] = [
  { name: 'attentionSmall', run: attentionSmall, D: fc.constantFrom(3, 16, 24), runs: 16,
    params: fc.constantFrom<SmallAttentionParams>({ qr: 8, kb: 8, wg: 8 }, { qr: 4, kb: 4, wg: 8 }, { qr: 3, kb: 12, wg: 4 }) },
  // K/V shared across the 8 lanes of a subgroup: one key a lane (kb 8) or two (kb 16). Head dims of
  // one vec4 step, vec2 steps, 4 and 6 steps; then all 8 written-out steps (32) and more steps than
  // written out (31: scalars), with few rows a lane (those compile in 6 s, not 30-45).
  ...(gpu.hasSubgroupsOf(8) ? [
    { name: 'attentionSmall (shared K/V)', run: attentionSmall, D: fc.constantFrom(4, 6, 16, 24), runs: 16,
      params: fc.constantFrom<SmallAttentionParams>({ qr: 8, kb: 8, wg: 8, share: 8 }, { qr: 3, kb: 16, wg: 8, share: 8 }, { qr: 1, kb: 8, wg: 8, share: 8 }) },
    { name: 'attentionSmall (shared K/V, 8 or more head-dim steps)', run: attentionSmall, D: fc.constantFrom(31, 32), runs: 6,
      params: fc.constantFrom<SmallAttentionParams>({ qr: 1, kb: 8, wg: 8, share: 8 }) },
    // The real models' head dims (SigLIP 72, Qwen2 128: several passes of each written-out step) at
    // the policy's small.qr2k8s8 (a cold compile takes 6-18 s each, so few runs).
    { name: 'attentionSmall (shared K/V, head dims 72 and 128)', run: attentionSmall, D: fc.constantFrom(72, 128), runs: 5,
      params: fc.constantFrom<SmallAttentionParams>({ qr: 2, kb: 8, wg: 8, share: 8 }) },
  ] : []),
  // Tiles of 1..16 keys, 1..4 invocations a pair (D = 72 is 18 vec4s: 4 slices leave two idle), and
  // the policy's GPU shapes (64 and 128 invocations).
  { name: 'attentionFlash', run: attentionFlash, D: fc.constantFrom(1, 6, 16, 72, 128), runs: 20,
    params: fc.constantFrom<FlashAttentionParams>({ bq: 4, tpq: 2, bk: 8 }, { bq: 3, tpq: 4, bk: 16 }, { bq: 5, tpq: 1, bk: 1 }, { bq: 32, tpq: 4, bk: 32 }, { bq: 64, tpq: 1, bk: 16 }) },
];

for (const { name, run, params, D: dims, runs } of VARIANTS) {
  test(`${name} matches the reference over odd shapes, GQA, causal masks, its parameters and dtypes`, async () => {
    const arb = fc.record({
      Lq: fc.constantFrom(1, 2, 7, 13, 37), hk: fc.constantFrom([1, 1], [2, 1], [2, 2], [3, 1], [4, 2]),
      D: dims, extra: fc.constantFrom(0, 1, 6, 29), spare: fc.constantFrom(0, 3), causal: fc.boolean(),
      prm: params, dtype: fc.constantFrom(...DTYPES), seed: fc.nat(),
    });
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
        return run(tq, tk, tv, { causal, kvLength }, prm);
      });
      const got = await out.toArray();
      out.dispose();
      assertClose(got, dtype === 'f16' ? fromF16(toF16(want!)) : want!, TOL[dtype], `${name} ${dtype} Lq ${Lq} H ${Hq}/${Hkv} D ${D} kv ${kvLength}/${Lmax} causal ${causal} ${JSON.stringify(prm)}`);
    }), { numRuns: runs });
  });
}

test('attentionFlash: a causal prefill of 300 rows after 45 cached keys, head dim 128, GQA 4:2 (f32)', async () => {
  const Lq = 300, Hq = 4, Hkv = 2, D = 128, kvLength = 345;
  const [q, tq] = input(Lq * Hq * D, 1, [Lq, Hq, D], 'f32');
  const [k, tk] = input(Hkv * kvLength * D, 2, [Hkv, kvLength, D], 'f32');
  const [v, tv] = input(Hkv * kvLength * D, 3, [Hkv, kvLength, D], 'f32');
  const out = attentionFlash(tq, tk, tv, { causal: true }, { bq: 32, tpq: 4, bk: 32 });
  const want = attentionRef(q, k, v, { Lq, Hq, Hkv, D, Lmax: kvLength, kvLength, causal: true, qOffset: 45, scale: 1 / Math.sqrt(D) });
  assertClose(await out.toArray(), want, TOL.f32, 'attentionFlash 300 rows after 45 keys');
  for (const t of [tq, tk, tv, out]) t.dispose();
});

test('attentionFlash sizes its tiles to the workgroup memory, and names what does not fit', () => {
  const fake = (bytes: number, invocations = 256) => ({ limits: { maxComputeWorkgroupStorageSize: bytes, maxComputeInvocationsPerWorkgroup: invocations } }) as unknown as Gpu;
  const p: FlashAttentionParams = { bq: 32, tpq: 4, bk: 32 };
  assert.equal(flashTileKeys(fake(16384), 128, p), 8); // 4·(2·8·128 + 128·8) = 12 KiB
  assert.equal(flashTileKeys(fake(16384), 72, p), 8);
  assert.equal(flashTileKeys(fake(65536), 72, p), 32);
  assert.throws(() => flashTileKeys(fake(1024), 128, p), (e: Error) => e.name === 'LimitError' && /head dim 128/.test(e.message));
  assert.throws(() => flashTileKeys(fake(65536, 64), 72, p), (e: Error) => e.name === 'LimitError' && /32×4 invocations/.test(e.message));
});

test('attentionSmall and attentionFlash refuse bad shapes and parameters before any GPU work', () => {
  const D = 40;
  const q = Tensor.zeros(gpu, [2, 1, D]), kv = Tensor.zeros(gpu, [1, 2, D]), k3 = Tensor.zeros(gpu, [1, 2, 8]);
  assert.throws(() => attentionSmall(q, k3, k3, { causal: false }), (e: Error) => e.name === 'ShapeError' && /attentionSmall: head dims/.test(e.message));
  assert.throws(() => attentionSmall(q, kv, kv, { causal: false }, { qr: 4, kb: 6, wg: 8 }), (e: Error) => e.name === 'ShapeError' && /keys per block 6/.test(e.message));
  if (gpu.hasSubgroupsOf(8)) {
    const q8 = Tensor.zeros(gpu, [2, 1, 8]);
    assert.throws(() => attentionSmall(q8, k3, k3, { causal: false }, { qr: 4, kb: 8, wg: 16, share: 8 }), (e: Error) => e.name === 'ShapeError' && /wg = 8 \(one subgroup\)/.test(e.message));
    assert.throws(() => attentionSmall(q8, k3, k3, { causal: false }, { qr: 4, kb: 12, wg: 8, share: 8 }), (e: Error) => e.name === 'ShapeError' && /kb 12/.test(e.message));
    q8.dispose();
  }
  assert.throws(() => attentionFlash(q, k3, k3, { causal: false }, { bq: 4, tpq: 2, bk: 8 }), (e: Error) => e.name === 'ShapeError' && /attentionFlash: head dims/.test(e.message));
  q.dispose(); kv.dispose(); k3.dispose();
});

test('small.qr8k8s8 runs only where a workgroup of 8 is always one subgroup (not on subgroups of 4, as SwiftShader)', () => {
  const fake = (features: string[], subgroupMinSize?: number) =>
    Object.setPrototypeOf({ features: new Set(features), adapter: { subgroupMinSize: subgroupMinSize ?? 0 } }, Gpu.prototype) as Gpu;
  const s8 = CANDIDATES.attention.find((c) => c.name === 'small.qr8k8s8')!;
  assert.equal(s8.when!(fake(['subgroups'], 8)), true);
  assert.equal(s8.when!(fake(['subgroups'], 32)), true);
  assert.equal(s8.when!(fake(['subgroups'], 4)), false);
  assert.equal(s8.when!(fake(['subgroups'])), false); // size not reported
  assert.equal(s8.when!(fake([], 8)), false);
});

test('the software default at the real head dims: small.qr2k8s8 with subgroups of 8, the fused kernel with 4 (SwiftShader)', () => {
  const software = (subgroupMinSize: number) => Object.setPrototypeOf({
    features: new Set(['subgroups']),
    adapter: { vendor: 'mesa', architecture: 'software', device: '', description: 'llvmpipe', backend: 'vulkan', subgroupMinSize },
  }, Gpu.prototype) as Gpu;
  assert.equal(new Policy(software(8)).choose('attention', 'largeD.prefill').candidate.name, 'small.qr2k8s8');
  assert.equal(new Policy(software(4)).choose('attention', 'largeD.prefill').candidate.name, 'fused.wg64.split32');
  assert.equal(new Policy(software(4)).choose('attention', 'smallD.prefill').candidate.name, 'small.qr8k8');
});
