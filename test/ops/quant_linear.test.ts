// Quantized weights (q8, q4; groups of 32 and 64): the CPU quantizer's error bound, the GPU
// dequantizer, and every qgemv/qgemm variant of the kernel policy (dequantizing inside the kernel,
// or into a scratch f32 weight for the float GEMM) against the reference dequantize-then-matmul.
// Tolerances: the reference is matmulRef over exactly the dequantized values the GPU computes
// (code·scale + offset in f32; the GPU may fuse it into one fma: 1 ulp), so what is left is f32
// accumulation over K: 2e-6·K absolute + 1e-5 relative as in matmul.test.ts. For f16 x the
// reference sees x rounded to half first; an f16 y adds one rounding to half (1e-3 relative).
// A wrong code, group or column offset moves an output by O(scale·|x|) ~ 1e-2 or more: far outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { fromF16, toF16 } from '../../src/core/dtype.js';
import { dequantizeGroups, quantizeGroups, type QuantFormat } from '../../src/core/quant.js';
import { QuantTensor, quantLinear } from '../../src/ops/quant_linear.js';
import { dequantize } from '../../src/ops/dequantize.js';
import { CANDIDATES, policyFor } from '../../src/ops/policy.js';
import { linear, SplitWeight } from '../../src/ops/linear.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { assertClose, randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const format = fc.constantFrom<QuantFormat>('q8', 'q4');
const group = fc.constantFrom(32, 64);

/** The f32 weight the kernel must behave as: quantize on the CPU, dequantize by the reference. */
function dequantized(w: Float32Array, fmt: QuantFormat, g: number): Float32Array {
  const q = quantizeGroups(w, fmt, g);
  return dequantizeGroups(q.codes, q.groups, w.length, fmt, g);
}

test('quantizeGroups: every value within half a step of its group (plus the f16 rounding of scale and offset)', () => {
  fc.assert(fc.property(format, group, fc.integer({ min: 1, max: 6 }), fc.nat(), fc.constantFrom(1e-3, 1, 300),
    (fmt, g, groups, seed, scale) => {
      const w = randomArray(g * groups, seed, scale);
      const d = dequantized(w, fmt, g);
      const levels = fmt === 'q8' ? 255 : 15;
      for (let a = 0; a < w.length; a += g) {
        const part = w.subarray(a, a + g);
        const step = (Math.max(...part) - Math.min(...part)) / levels;
        // f16 scale and offset: relative 2^-11 each, over up to `levels` steps.
        // Below 2^-14 halves are subnormal: then an absolute 2^-25 each (scale times levels, offset once).
        const bound = step * (0.5 + levels * 2 ** -11) + Math.abs(Math.min(...part)) * 2 ** -11 + (levels + 1) * 2 ** -25;
        for (let i = a; i < a + g; i++) assert.ok(Math.abs(d[i]! - w[i]!) <= bound, `${fmt}/${g}: |${d[i]} - ${w[i]}| > ${bound}`);
      }
    }), { numRuns: 60 });
});

test('quantizeGroups: a constant group is exact; a row length not divisible by the group is a typed error naming the tensor', () => {
  const w = new Float32Array(32).fill(0.25);
  assert.deepEqual(dequantized(w, 'q4', 32), w);
  assert.throws(() => QuantTensor.fromArray(gpu, new Float32Array(4 * 48), [4, 48], 'q4', 32, 'model.layers.0.mlp.fc2.weight'),
    (e: Error) => e.name === 'ShapeError' && e.message.includes('fc2') && e.message.includes('48') && e.message.includes('32'));
});

test('dequantize (GPU) equals dequantizeGroups (CPU) bit for bit up to one fma rounding, at row offsets', async () => {
  await fc.assert(fc.asyncProperty(format, group, fc.constantFrom(1, 2, 7), fc.constantFrom(1, 3), fc.nat(), async (fmt, g, N, kGroups, seed) => {
    const K = g * kGroups;
    const w = randomArray(N * K, seed);
    const q = QuantTensor.fromArray(gpu, w, [N, K], fmt, g, 'w');
    const row0 = N > 2 ? 1 : 0, rows = N - row0;
    const got = scope(() => dequantize(q, row0, rows));
    const out = await got.toArray();
    got.dispose(); q.dispose();
    assertClose(out, dequantized(w, fmt, g).subarray(row0 * K), { atol: 1e-7, rtol: 1e-6 }, `${fmt}/${g} N=${N} K=${K} from row ${row0}`);
  }), { numRuns: 20 });
});

// Every variant of the policy's table (ops/policy.ts), forced in turn: qgemm for M > 4, qgemv below.
for (const op of ['qgemv', 'qgemm'] as const) {
  for (const v of CANDIDATES[op]) {
    test(`quantLinear ${op} ${v.name} matches dequantize-then-matmul over odd M and N, with and without bias`, async () => {
      const rowsOf = op === 'qgemv' ? fc.constantFrom(1, 2, 3, 4) : fc.constantFrom(5, 13, 17, 67);
      policyFor(gpu).force(`${op}=${v.name}`);
      try {
        await fc.assert(fc.asyncProperty(format, group, rowsOf, fc.constantFrom(1, 7, 8, 31, 67),
          fc.constantFrom(1, 3, 5), fc.constantFrom('none', 'f32', 'f16'), fc.nat(),
          async (fmt, g, M, N, kGroups, biasKind, seed) => {
            const K = g * kGroups;
            const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), b = randomArray(N, seed + 2);
            const bias = biasKind === 'f16' ? fromF16(toF16(b)) : b;
            const y = scope(() => quantLinear(Tensor.fromArray(gpu, x, [M, K]), QuantTensor.fromArray(gpu, w, [N, K], fmt, g, 'w'),
              biasKind === 'none' ? undefined : biasKind === 'f32' ? Tensor.fromArray(gpu, b, [N]) : Tensor.fromArray(gpu, toF16(b), [N], 'f16')));
            const got = await y.toArray();
            y.dispose();
            assertClose(got, matmulRef(x, dequantized(w, fmt, g), M, N, K, biasKind === 'none' ? undefined : bias), { atol: 2e-6 * K, rtol: 1e-5 },
              `${v.name} ${fmt}/${g} M=${M} N=${N} K=${K} bias ${biasKind}`);
          }), { numRuns: op === 'qgemv' ? 12 : 24 });
      } finally { policyFor(gpu).force(''); }
    });
  }
}

test('the scratch variant in several chunks (a small chunk budget) writes each chunk\'s columns and bias slice', async () => {
  const scratch = CANDIDATES.qgemm.find((c) => c.name === 'scratch')!;
  await fc.assert(fc.asyncProperty(format, fc.constantFrom(5, 29), fc.constantFrom(3, 13, 40), fc.nat(), async (fmt, M, N, seed) => {
    const K = 64;
    const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), b = randomArray(N, seed + 2);
    const tx = Tensor.fromArray(gpu, x, [M, K]), tb = Tensor.fromArray(gpu, b, [N]);
    const q = QuantTensor.fromArray(gpu, w, [N, K], fmt, 32, 'w');
    const y = Tensor.zeros(gpu, [M, N]);
    // 3 rows of K f32 a chunk: ceil(N / 3) chunks of 2 or 3 rows.
    scratch.run({ x: tx, parts: [{ w: q, ycol0: 0, bcol0: 0 }], y, bias: tb, M, K }, { maxBytes: 3 * K * 4 });
    const got = await y.toArray();
    tx.dispose(); tb.dispose(); q.dispose(); y.dispose();
    assertClose(got, matmulRef(x, dequantized(w, fmt, 32), M, N, K, b), { atol: 2e-6 * K, rtol: 1e-5 }, `scratch chunks ${fmt} M=${M} N=${N}`);
  }), { numRuns: 8 });
});

test('quantLinear with f16 activations: f16 y within one half rounding', async () => {
  await fc.assert(fc.asyncProperty(format, fc.constantFrom(1, 6), fc.constantFrom(9, 40), fc.nat(), async (fmt, M, N, seed) => {
    const K = 96;
    const x16 = toF16(randomArray(M * K, seed)), w = randomArray(N * K, seed + 1);
    const y = scope(() => quantLinear(Tensor.fromArray(gpu, x16, [M, K], 'f16'), QuantTensor.fromArray(gpu, w, [N, K], fmt, 32, 'w')));
    assert.equal(y.dtype, 'f16');
    const got = fromF16(await y.read() as Uint16Array);
    y.dispose();
    assertClose(got, matmulRef(fromF16(x16), dequantized(w, fmt, 32), M, N, K), { atol: 2e-6 * K, rtol: 1e-3 }, `${fmt} f16 M=${M} N=${N}`);
  }), { numRuns: 12 });
});

test('linear over a SplitWeight mixing quantized row chunks and a plain f32 chunk (the head plus coordinate rows)', async () => {
  await fc.assert(fc.asyncProperty(format, fc.constantFrom(1, 3, 9), fc.nat(), async (fmt, M, seed) => {
    const K = 64, rows = [13, 8, 5];
    const N = rows.reduce((a, b) => a + b, 0);
    const x = randomArray(M * K, seed), w = randomArray(N * K, seed + 1), b = randomArray(N, seed + 2);
    const q0 = QuantTensor.fromArray(gpu, w.subarray(0, 13 * K), [13, K], fmt, 32, 'w[0:13]');
    const q1 = QuantTensor.fromArray(gpu, w.subarray(13 * K, 21 * K), [8, K], fmt, 32, 'w[13:21]');
    const plain = Tensor.fromArray(gpu, w.subarray(21 * K), [5, K], 'f32', 'w[21:]');
    const weight = new SplitWeight([q0, q1, plain], [N, K], 'w');
    const y = scope(() => linear(Tensor.fromArray(gpu, x, [M, K]), weight, Tensor.fromArray(gpu, b, [N])));
    const got = await y.toArray();
    y.dispose(); weight.dispose();
    const want = new Float32Array(N * K);
    want.set(dequantized(w.subarray(0, 13 * K), fmt, 32), 0);
    want.set(dequantized(w.subarray(13 * K, 21 * K), fmt, 32), 13 * K);
    want.set(w.subarray(21 * K), 21 * K);
    assertClose(got, matmulRef(x, want, M, N, K, b), { atol: 2e-6 * K, rtol: 1e-5 }, `mixed split ${fmt} M=${M}`);
  }), { numRuns: 8 });
});

test('quantizeInto (GPU) agrees with quantizeGroups (CPU) from bf16, f16 and f32 sources, at offsets', async () => {
  const { quantizeInto } = await import('../../src/ops/quantize.js');
  await fc.assert(fc.asyncProperty(format, group, fc.constantFrom('BF16', 'F16', 'F32') as fc.Arbitrary<'BF16' | 'F16' | 'F32'>, fc.nat(), async (fmt, g, src, seed) => {
    const N = 5, K = 2 * g, n = N * K;
    // Source values exactly representable in the source dtype, so both sides see the same numbers.
    let v = randomArray(n, seed, 0.05);
    let words: Uint32Array;
    if (src === 'F32') words = new Uint32Array(v.buffer.slice(0));
    else if (src === 'F16') { const h = toF16(v); v = fromF16(h); words = new Uint32Array(h.buffer); }
    else { const b = new Uint16Array(n); const u = new Uint32Array(v.buffer); for (let i = 0; i < n; i++) b[i] = u[i]! >>> 16; v = new Float32Array(Uint32Array.from(b, (x) => x << 16).buffer); words = new Uint32Array(b.buffer); }
    const raw = Tensor.fromArray(gpu, words, [words.length], 'u32', 'raw');
    const q = QuantTensor.empty(gpu, [N, K], fmt, g, 'w');
    // Two calls: rows 0-1 from element 0, rows 2-4 from their offset (as the loader's chunks do).
    quantizeInto(raw, src, 0, 2 * K, q, 0);
    quantizeInto(raw, src, 2 * K, 3 * K, q, 2 * K);
    const codes = await q.codes.read() as Uint32Array, groups = await q.groups.read() as Uint32Array;
    raw.dispose(); q.dispose();
    const want = quantizeGroups(v, fmt, g);
    // f16 rounding of the scale may differ in the last bit between pack2x16float and the CPU; then
    // a code can move by one step. Dequantized values must agree within one step of the group.
    const got = dequantizeGroups(codes, groups, n, fmt, g), ref = dequantizeGroups(want.codes, want.groups, n, fmt, g);
    let same = 0;
    for (let i = 0; i < groups.length; i++) if (groups[i] === want.groups[i]) same++;
    assert.ok(same >= groups.length * 0.9, `${same}/${groups.length} group words identical`);
    const levels = fmt === 'q8' ? 255 : 15;
    for (let i = 0; i < n; i++) {
      const a = Math.floor(i / g) * g, part = v.subarray(a, a + g);
      const step = (Math.max(...part) - Math.min(...part)) / levels;
      assert.ok(Math.abs(got[i]! - ref[i]!) <= step * 1.01 + 1e-7, `${fmt}/${g} ${src} element ${i}: ${got[i]} vs ${ref[i]} (step ${step})`);
    }
  }), { numRuns: 20 });
});
