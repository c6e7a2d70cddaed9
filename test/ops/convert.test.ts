// convert (f32 <-> f16), bf16ToF32, bf16ToF16: bit-exact against the CPU conversions (round to
// nearest even), on odd and even counts (vector and scalar paths), special values (±0, ±inf, NaN,
// f16 subnormals, ties, 65519/65520 at the f16 overflow edge), and a device with a tiny binding
// limit so the range-splitting path runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import type { Gpu } from '../../src/core/device.js';
import { DTypeError, ShapeError } from '../../src/core/errors.js';
import { convert, bf16ToF32, bf16ToF16 } from '../../src/ops/convert.js';
import { toF16BitsRef, fromF16BitsRef, bf16ToF32Ref } from '../../src/ops/reference/convert.js';
import { randomArray, testGpu } from '../support/gpu.js';

const gpu = await testGpu();
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 65504, 65519, 65520, -65520, 1e-8, 6e-8, 2.98e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3e38, 1e-40];

function values(n: number, seed: number): Float32Array {
  const a = randomArray(n, seed, 1);
  for (let i = 0; i < n; i++) a[i] = a[i]! * 10 ** ((i * 7 + seed) % 9 - 4);
  for (let i = seed % 5; i < n; i += 11) a[i] = SPECIAL[(i + seed) % SPECIAL.length]!;
  return a;
}

/** f16 bits must agree exactly, except that any NaN matches any NaN. */
function sameF16(got: Uint16Array, want: Uint16Array, what: string) {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const nan = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
    if (nan(want[i]!) && nan(got[i]!)) continue;
    if (got[i] !== want[i]) assert.fail(`${what}: element ${i} is 0x${got[i]!.toString(16)}, want 0x${want[i]!.toString(16)}`);
  }
}
function sameF32(got: Float32Array, want: Float32Array, what: string) {
  for (let i = 0; i < want.length; i++) {
    if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

async function checkAll(g: Gpu, n: number, seed: number) {
  const x = values(n, seed);
  const h = toF16BitsRef(x);
  const words = new Uint32Array(Math.ceil(n / 2));
  new Uint16Array(words.buffer).set(new Uint16Array(x.buffer).filter((_, i) => i % 2 === 1)); // bf16 = top halves of x
  const [a, b, c, d] = scope(() => [
    convert(Tensor.fromArray(g, x, [n]), 'f16'), convert(Tensor.fromArray(g, h, [n], 'f16'), 'f32'),
    bf16ToF32(Tensor.fromArray(g, words, [words.length]), [n]), bf16ToF16(Tensor.fromArray(g, words, [words.length]), [n]),
  ]);
  sameF16((await a.read()) as Uint16Array, h, `f32->f16 n=${n}`);
  sameF32((await b.read()) as Float32Array, fromF16BitsRef(h), `f16->f32 n=${n}`);
  const wide = bf16ToF32Ref(words, n);
  sameF32((await c.read()) as Float32Array, wide, `bf16->f32 n=${n}`);
  sameF16((await d.read()) as Uint16Array, toF16BitsRef(wide), `bf16->f16 n=${n}`);
  for (const t of [a, b, c, d]) t.dispose();
}

if (gpu.hasF16) {
  test('conversions are bit-exact, vector and scalar paths', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 13, 255, 256, 1023, 1024, 5003), fc.nat(), async (n, seed) => {
      await checkAll(gpu, n, seed);
    }), { numRuns: 25 });
  });
  test('conversions split into binding-sized ranges on a small-binding device', async () => {
    const small = await testGpu({ limitOverrides: { maxStorageBufferBindingSize: 2048 } });
    for (const n of [4096, 5001, 6002]) await checkAll(small, n, n);
  });
}

// f32 -> f16 in vec4s rounds with f16_bits (wgsl/include/f16_bits), integer ops in place of
// pack2x16float: every rounding boundary it has, exhaustively. For each f16 value v (both signs,
// subnormals, the largest finite, inf, NaN) and its neighbour v' above: v, the tie (v + v')/2, the
// f32s one ulp either side of the tie, and v's own f32 neighbours; plus f32 subnormals and values
// below half the smallest f16 subnormal. Needs no shader-f16 (packed u32 output).
test('f32 -> f16 rounds every f16 boundary exactly (ties to even, subnormals, overflow)', async () => {
  const xs: number[] = [];
  const f32 = new Float32Array(1), bits = new Uint32Array(f32.buffer);
  const nudge = (x: number, d: number) => { f32[0] = x; bits[0] = bits[0]! + d; return f32[0]; };
  for (let h = 0; h < 0x7c00; h++) {
    for (const sign of [1, -1]) {
      const v = sign * fromF16BitsRef([h])[0]!, w = sign * fromF16BitsRef([h + 1])[0]!;
      const tie = Math.fround((v + w) / 2); // exact: the halfway point has 12 significant bits
      xs.push(v, tie, nudge(tie, 1), nudge(tie, -1), h > 0 ? nudge(v, sign) : v);
    }
  }
  xs.push(Infinity, -Infinity, NaN, 65520, 65519.996, 1e-45, -1e-45, 1e-40, 2 ** -25, 2 ** -25 + 2 ** -40, -(2 ** -25), 3.4e38);
  while (xs.length % 4) xs.push(0);
  const x = Float32Array.from(xs);
  const y = scope(() => convert(Tensor.fromArray(gpu, x, [x.length]), 'f16'));
  sameF16((await y.read()) as Uint16Array, toF16BitsRef(x), 'f32->f16 boundaries');
  y.dispose();
});

test('bf16ToF32 without shader-f16 (2 elements a word, low half first)', async () => {
  const y = scope(() => bf16ToF32(Tensor.fromArray(gpu, new Uint32Array([0x3f80_4000, 0x0000_4040]), [2]), [3]));
  assert.deepEqual(Array.from(await y.read()), [2, 1, 3]);
  y.dispose();
});

test('conversion errors name the tensor', () => {
  scope(() => {
    assert.throws(() => bf16ToF32(Tensor.zeros(gpu, [3], 'u32', 'raw'), [8]), (e: unknown) => e instanceof ShapeError && /raw/.test(e.message) && /\[8\]/.test(e.message));
    assert.throws(() => bf16ToF32(Tensor.zeros(gpu, [4], 'f32', 'rawf'), [8]), (e: unknown) => e instanceof DTypeError && /rawf/.test(e.message));
    assert.throws(() => convert(Tensor.zeros(gpu, [4], 'i32', 'ints'), 'f16'), (e: unknown) => e instanceof DTypeError && /ints/.test(e.message));
  });
});
