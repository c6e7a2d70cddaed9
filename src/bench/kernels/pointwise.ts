// Benchmark cases for the memory-bound kernels (norms, softmax, activations, rope, gathers, argmax,
// conversions) at the model's shapes, f16 where the model runs f16. Each is checked against its
// reference on the same shape first. bytes = what one run must read and write at least.
import type { Gpu } from '../../core/device.js';
import { Tensor } from '../../core/tensor.js';
import { toF16, fromF16 } from '../../core/dtype.js';
import type { BenchCase, PreparedCase } from '../case.js';
import { layerNorm, rmsNorm } from '../../ops/norm.js';
import { gelu, siluMul } from '../../ops/activation.js';
import { rope } from '../../ops/rope.js';
import { argmax } from '../../ops/argmax.js';
import { embedding } from '../../ops/gather.js';
import { convert, bf16ToF32 } from '../../ops/convert.js';
import { SplitWeight } from '../../ops/linear.js';
import { layerNormRef, rmsNormRef } from '../../ops/reference/norm.js';
import { geluRef, siluMulRef } from '../../ops/reference/activation.js';
import { ropeRef } from '../../ops/reference/rope.js';
import { argmaxRef } from '../../ops/reference/argmax.js';
import { gatherRef } from '../../ops/reference/gather.js';
import { toF16BitsRef, bf16ToF32Ref } from '../../ops/reference/convert.js';
import { rowClass } from '../../ops/policy.js';
import { softmax } from '../../ops/softmax.js';
import { softmaxRef } from '../../ops/reference/softmax.js';
import { binary } from '../../ops/elementwise.js';
import { binaryRef } from '../../ops/reference/elementwise.js';

type Float = 'f32' | 'f16';

/** Deterministic values in [-scale, scale), already representable in `dtype`. */
function values(n: number, seed: number, scale: number, dtype: Float): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 * 2 - 1) * scale;
  }
  return dtype === 'f16' ? fromF16(toF16(a)) : a;
}

function upload(gpu: Gpu, a: Float32Array, shape: number[], dtype: Float): Tensor {
  return dtype === 'f16' ? Tensor.fromArray(gpu, toF16(a), shape, 'f16') : Tensor.fromArray(gpu, a, shape);
}

/** The first element outside atol + rtol·|want|, as a message. */
function compare(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): string | undefined {
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w)) && !(Number.isNaN(g) && Number.isNaN(w))) return `element ${i}: ${g}, want ${w}`;
  }
  return undefined;
}

/** A case from inputs, one op and a reference over the inputs' host values. */
function unary(name: string, shape: string, bytes: number, make: (gpu: Gpu) => { inputs: Tensor[]; run: () => Tensor; want: () => ArrayLike<number>; tol: [number, number]; exact?: boolean }, policy?: BenchCase['policy']): BenchCase {
  return {
    name, shape, bytes, bound: 'memory', ...(policy ? { policy } : {}),
    prepare(gpu: Gpu): PreparedCase {
      const c = make(gpu);
      return {
        run: c.run,
        async check() {
          const y = c.run();
          const got = c.exact ? await y.read() : await y.toArray();
          y.dispose();
          return compare(got, c.want(), c.tol[0], c.tol[1]);
        },
        dispose() { for (const t of c.inputs) t.dispose(); },
      };
    },
  };
}

const F16_TOL: [number, number] = [1e-3, 2 ** -9];

export function cases(): BenchCase[] {
  const out: BenchCase[] = [];
  out.push(unary('layernorm.f16', '729×1152', 2 * 729 * 1152 * 2, (gpu) => {
    const x = values(729 * 1152, 1, 3, 'f16'), w = values(1152, 2, 1, 'f16'), b = values(1152, 3, 0.1, 'f16');
    const inputs = [upload(gpu, x, [729, 1152], 'f16'), upload(gpu, w, [1152], 'f16'), upload(gpu, b, [1152], 'f16')];
    return { inputs, run: () => layerNorm(inputs[0]!, inputs[1]!, inputs[2]!, 1e-6), want: () => layerNormRef(x, 1152, w, b, 1e-6, 'f16'), tol: F16_TOL };
  }, { op: 'norm', cls: rowClass('norm', 1152) }));
  out.push(unary('rmsnorm.f16', '2600×3584', 2 * 2600 * 3584 * 2, (gpu) => {
    const x = values(2600 * 3584, 4, 3, 'f16'), w = values(3584, 5, 1, 'f16');
    const inputs = [upload(gpu, x, [2600, 3584], 'f16'), upload(gpu, w, [3584], 'f16')];
    return { inputs, run: () => rmsNorm(inputs[0]!, inputs[1]!, 1e-6), want: () => rmsNormRef(x, 3584, w, 1e-6, 'f16'), tol: F16_TOL };
  }, { op: 'norm', cls: rowClass('norm', 3584) }));
  // Vocabulary-wide rows (logits); the narrow class is bench/kernels/attention.ts's 16×1024×1024.
  for (const [R, N] of [[64, 151936]] as const) {
    out.push(unary('softmax.f16', `${R}×${N}`, 2 * R * N * 2, (gpu) => {
      const x = values(R * N, 15, 8, 'f16');
      const inputs = [upload(gpu, x, [R, N], 'f16')];
      return { inputs, run: () => softmax(inputs[0]!), want: () => fromF16(toF16(softmaxRef(x, R, N))), tol: [2 ** -24, 2 ** -10] };
    }, { op: 'softmax', cls: rowClass('softmax', N) }));
  }
  for (const form of ['tanh', 'erf'] as const) {
    out.push(unary(`gelu_${form}.f16`, '729×4304', 2 * 729 * 4304 * 2, (gpu) => {
      const x = values(729 * 4304, 6, 6, 'f16');
      const inputs = [upload(gpu, x, [729, 4304], 'f16')];
      return { inputs, run: () => gelu(inputs[0]!, form), want: () => geluRef(x, form, 'f16'), tol: [1e-6, 2 ** -10] };
    }));
  }
  out.push(unary('siluMul.f16', '2600×18944', 3 * 2600 * 18944 * 2, (gpu) => {
    const g = values(2600 * 18944, 7, 6, 'f16'), u = values(2600 * 18944, 8, 2, 'f16');
    const inputs = [upload(gpu, g, [2600, 18944], 'f16'), upload(gpu, u, [2600, 18944], 'f16')];
    return { inputs, run: () => siluMul(inputs[0]!, inputs[1]!), want: () => siluMulRef(g, u, 'f16'), tol: [1e-6, 2 ** -9] };
  }));
  out.push(unary('rope.f16', '2600×28×128', 2 * 2600 * 28 * 128 * 2, (gpu) => {
    const x = values(2600 * 28 * 128, 9, 2, 'f16');
    const inputs = [upload(gpu, x, [2600, 28, 128], 'f16')];
    return { inputs, run: () => rope(inputs[0]!, { offset: 0, theta: 1e6 }), want: () => ropeRef(x, 2600, 28, 128, 0, 1e6, 'f16'), tol: [2 ** -9, 2 ** -9] };
  }));
  out.push(unary('argmax.f32', '151960', 151960 * 4, (gpu) => {
    const x = values(151960, 10, 20, 'f32');
    const inputs = [upload(gpu, x, [151960], 'f32')];
    return { inputs, run: () => argmax(inputs[0]!), want: () => argmaxRef(x, 151960), tol: [0, 0], exact: true };
  }));
  out.push(unary('embedding.f16', '2600 ids × 3584 (8192-row table in 2 parts)', 2 * 2600 * 3584 * 2, (gpu) => {
    const V = 8192, C = 3584, table = values(V * C, 11, 1, 'f16');
    const ids = Int32Array.from({ length: 2600 }, (_, i) => (i * 7919) % V);
    const parts = [upload(gpu, table.subarray(0, 5000 * C), [5000, C], 'f16'), upload(gpu, table.subarray(5000 * C), [V - 5000, C], 'f16')];
    const idT = Tensor.fromArray(gpu, ids, [2600]);
    const w = new SplitWeight(parts, [V, C], 'embed_tokens');
    return { inputs: [...parts, idT], run: () => embedding(w, idT), want: () => gatherRef(table, C, ids, 'f16'), tol: [0, 0] };
  }));
  // The demo model's narrow rows (vision tower at width 48/32, 100 frames × 729 patches, f32 as
  // `--dtype auto` picks here): far from bandwidth in the demo's profile.
  for (const C of [48, 32]) {
    const R = 72900;
    out.push(unary('narrow.layernorm.f32', `${R}×${C}`, 2 * R * C * 4, (gpu) => {
      const x = values(R * C, 16, 3, 'f32'), w = values(C, 17, 1, 'f32'), b = values(C, 18, 0.1, 'f32');
      const inputs = [upload(gpu, x, [R, C], 'f32'), upload(gpu, w, [C], 'f32'), upload(gpu, b, [C], 'f32')];
      return { inputs, run: () => layerNorm(inputs[0]!, inputs[1]!, inputs[2]!, 1e-6), want: () => layerNormRef(x, C, w, b, 1e-6, 'f32'), tol: [1e-5, 1e-5] };
    }, { op: 'norm', cls: rowClass('norm', C) }));
  }
  out.push(unary('narrow.gelu_erf.f32', '72900×48', 2 * 72900 * 48 * 4, (gpu) => {
    const x = values(72900 * 48, 19, 6, 'f32');
    const inputs = [upload(gpu, x, [72900, 48], 'f32')];
    return { inputs, run: () => gelu(inputs[0]!, 'erf'), want: () => geluRef(x, 'erf', 'f32'), tol: [1e-6, 1e-5] };
  }, { op: 'pointwise', cls: 'any' }));
  // residual (same shapes) and bias (a row broadcast over the rows)
  for (const [what, bShape] of [['residual', [72900, 48]], ['bias', [48]]] as const) {
    const n = 72900 * 48, nb = bShape.reduce((p, d) => p * d, 1);
    out.push(unary(`narrow.add_${what}.f32`, `72900×48 + ${bShape.join('×')}`, (2 * n + nb) * 4, (gpu) => {
      const a = values(n, 20, 3, 'f32'), b = values(nb, 21, 3, 'f32');
      const inputs = [upload(gpu, a, [72900, 48], 'f32'), upload(gpu, b, [...bShape], 'f32')];
      return { inputs, run: () => binary('add', inputs[0]!, inputs[1]!), want: () => binaryRef('add', a, [72900, 48], b, [...bShape]).data, tol: [0, 0] };
    }));
  }
  const N = 4 << 20;
  out.push(unary('convert.f32_to_f16', '4M', N * 6, (gpu) => {
    const x = values(N, 12, 100, 'f32');
    const inputs = [upload(gpu, x, [N], 'f32')];
    return { inputs, run: () => convert(inputs[0]!, 'f16'), want: () => toF16BitsRef(x), tol: [0, 0], exact: true };
  }));
  out.push(unary('convert.f16_to_f32', '4M', N * 6, (gpu) => {
    const x = values(N, 13, 100, 'f16');
    const inputs = [upload(gpu, x, [N], 'f16')];
    return { inputs, run: () => convert(inputs[0]!, 'f32'), want: () => x, tol: [0, 0] };
  }));
  out.push(unary('convert.bf16_to_f32', '4M', N * 6, (gpu) => {
    const words = new Uint32Array(values(N / 2, 14, 100, 'f32').buffer);
    const inputs = [Tensor.fromArray(gpu, words, [N / 2], 'u32')];
    return { inputs, run: () => bf16ToF32(inputs[0]!, [N]), want: () => bf16ToF32Ref(words, N), tol: [0, 0] };
  }));
  return out;
}
