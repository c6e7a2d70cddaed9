// Benchmark cases for the attention family: fused attention (SigLIP, Qwen2 prefill and decode),
// the packer's region attention and the row softmax. FLOPs of attention count 4·Lq·Lk·D·H (q·k and
// p·v, 2 per multiply-add), half that when causal. check() compares sampled rows (attention,
// region) or everything (softmax, decode) against ops/reference in float64.
import type { Gpu } from '../../core/device.js';
import { fromF16, toF16 } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import { readBack, type BenchCase, type PreparedCase } from '../case.js';
import { attention } from '../../ops/attention.js';
import { attentionSmall } from '../../ops/attention_small.js';
import { regionAttention } from '../../ops/region_attention.js';
import { softmax } from '../../ops/softmax.js';
import { attentionRef, regionAttentionRef } from '../../ops/reference/attention.js';
import { softmaxRef } from '../../ops/reference/softmax.js';
import { attentionClass, rowClass } from '../../ops/policy.js';

type FDType = 'f32' | 'f16';

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 31 - 1) * scale; }
  return out;
}

/** Host data rounded to the dtype, and its tensor. */
function upload(gpu: Gpu, a: Float32Array, shape: number[], dtype: FDType, name: string): [Float32Array, Tensor] {
  if (dtype === 'f32') return [a, Tensor.fromArray(gpu, a, shape, 'f32', name)];
  const bits = toF16(a);
  return [fromF16(bits), Tensor.fromArray(gpu, bits, shape, 'f16', name)];
}

/** The first index where got and want differ by more than atol + rtol·|want|, described. */
function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, at: (i: number) => number, atol: number, rtol: number, what: string): string | undefined {
  for (let i = 0; i < want.length; i++) {
    const g = got[at(i)]!, w = want[i]!;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) return `${what}[${at(i)}] = ${g}, want ${w}`;
  }
  return undefined;
}

const tol = (dtype: FDType): [number, number] => (dtype === 'f16' ? [2e-5, 2 ** -10] : [2e-5, 1e-4]);

/** Runs the op once and compares the sampled output rows (each `width` long) with the reference's. */
async function checkRows(run: () => Tensor, rows: readonly number[], width: number, want: (row: number) => Float32Array, dtype: FDType): Promise<string | undefined> {
  const got = await readBack(run);
  const [atol, rtol] = tol(dtype);
  for (const r of rows) {
    const w = want(r);
    const bad = mismatch(got, dtype === 'f16' ? fromF16(toF16(w)) : w, (i) => r * width + i, atol, rtol, 'o');
    if (bad) return bad;
  }
  return undefined;
}

/** small: the small-head-dim variant (ops/attention_small.ts) instead of attention(). */
function attentionCase(name: string, Lq: number, Hq: number, Hkv: number, D: number, L: number, causal: boolean, dtype: FDType, small = false): BenchCase {
  const flops = 4 * Lq * L * D * Hq * (causal && Lq > 1 ? (L - Lq + (Lq + 1) / 2) / L : 1);
  const bpe = dtype === 'f32' ? 4 : 2;
  return {
    name: `attention.${name}${small ? '.small' : ''}.${dtype}`,
    ...(small ? {} : { policy: { op: 'attention', cls: attentionClass(Lq, D) } }),
    shape: `Lq ${Lq} × Lk ${L}, ${Hq}/${Hkv} heads × ${D}${causal ? ', causal' : ''}`,
    flops, bytes: bpe * (2 * Lq * Hq * D + 2 * Hkv * L * D),
    bound: Lq === 1 ? 'memory' : 'compute-f32',
    prepare(gpu: Gpu): PreparedCase {
      const [q, tq] = upload(gpu, random(Lq * Hq * D, 1), [Lq, Hq, D], dtype, 'q');
      const [k, tk] = upload(gpu, random(Hkv * L * D, 2), [Hkv, L, D], dtype, 'k');
      const [v, tv] = upload(gpu, random(Hkv * L * D, 3), [Hkv, L, D], dtype, 'v');
      const run = () => (small ? attentionSmall : attention)(tq, tk, tv, { causal });
      return {
        run,
        check() {
          // A sample of query rows (all of them for small Lq), each as a one-row problem at its position.
          const rows = Lq <= 4 ? [...Array(Lq).keys()] : [0, 1, Math.floor(Lq / 3), Lq - 2, Lq - 1];
          return checkRows(run, rows, Hq * D, (r) => attentionRef(q.subarray(r * Hq * D, (r + 1) * Hq * D), k, v,
            { Lq: 1, Hq, Hkv, D, Lmax: L, kvLength: L, causal, qOffset: L - Lq + r, scale: 1 / Math.sqrt(D) }), dtype);
        },
        dispose() { tq.dispose(); tk.dispose(); tv.dispose(); },
      };
    },
  };
}

/** The packer's spatial regions: Nq = frames·81 queries, each over its own 3×3 block of a 27×27 frame. */
function regionCase(frames: number, E: number, H: number, dtype: FDType): BenchCase {
  const Nq = frames * 81, Nk = frames * 729, R = 9;
  const bpe = dtype === 'f32' ? 4 : 2;
  return {
    name: `regionAttention.spatial.${dtype}`,
    shape: `${Nq} queries × ${R} keys × ${E} (${H} heads)`,
    flops: 4 * Nq * R * E, bytes: bpe * E * (2 * Nq + 2 * Nk) + 4 * Nq * R,
    bound: 'memory',
    prepare(gpu: Gpu): PreparedCase {
      const [q, tq] = upload(gpu, random(Nq * E, 1), [Nq, E], dtype, 'q');
      const [k, tk] = upload(gpu, random(Nk * E, 2, 2), [Nk, E], dtype, 'k');
      const [v, tv] = upload(gpu, random(Nk * E, 3), [Nk, E], dtype, 'v');
      const idx: number[] = [];
      for (let t = 0; t < frames; t++) for (let a = 0; a < 9; a++) for (let b = 0; b < 9; b++) {
        for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) idx.push(t * 729 + (3 * a + dy) * 27 + 3 * b + dx);
      }
      const index = Uint32Array.from(idx);
      const ti = Tensor.fromArray(gpu, index, [Nq, R], 'u32', 'index');
      const run = () => regionAttention(tq, tk, tv, ti, H, undefined, { queries: 81, keys: 729 }); // k is over 128 MiB: split by frame
      return {
        run,
        check() {
          return checkRows(run, [0, 1, Math.floor(Nq / 2), Nq - 1], E, (n) =>
            regionAttentionRef(q.subarray(n * E, (n + 1) * E), k, v, index.subarray(n * R, (n + 1) * R), 1, E, R, H, 1 / Math.sqrt(E / H)), dtype);
        },
        dispose() { tq.dispose(); tk.dispose(); tv.dispose(); ti.dispose(); },
      };
    },
  };
}

function softmaxCase(shape: number[], dtype: FDType): BenchCase {
  const n = shape.reduce((a, b) => a * b, 1), N = shape[shape.length - 1]!;
  return {
    name: `softmax.${dtype}`,
    policy: { op: 'softmax', cls: rowClass('softmax', N) },
    shape: shape.join('×'),
    bytes: 2 * n * (dtype === 'f32' ? 4 : 2),
    bound: 'memory',
    prepare(gpu: Gpu): PreparedCase {
      const [x, tx] = upload(gpu, random(n, 4, 8), shape, dtype, 'x');
      const run = () => softmax(tx);
      return {
        run,
        async check() {
          const got = await readBack(run);
          let want = softmaxRef(x, n / N, N);
          if (dtype === 'f16') want = fromF16(toF16(want));
          return mismatch(got, want, (i) => i, dtype === 'f16' ? 2 ** -24 : 1e-30, dtype === 'f16' ? 2 ** -10 : 1e-5 + N * 6e-8, 'y');
        },
        dispose() { tx.dispose(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const dt of ['f32', 'f16'] as const) {
    out.push(attentionCase('siglip', 729, 16, 16, 72, 729, false, dt));
    out.push(attentionCase('decode', 1, 28, 4, 128, 2600, true, dt));
  }
  out.push(attentionCase('prefill', 2600, 28, 4, 128, 2600, true, 'f16'));
  // The demo model's head dims (16 in the vision tower, 24 in the decoder), attention() beside the
  // small-head-dim variant (`bench kernels --filter attention.demo`).
  for (const small of [false, true]) out.push(attentionCase('demo_siglip', 729, 2, 2, 16, 729, false, 'f32', small));
  for (const small of [false, true]) out.push(attentionCase('demo_prefill', 2589, 2, 1, 24, 2589, true, 'f32', small));
  out.push(regionCase(100, 1024, 8, 'f16'), regionCase(100, 1024, 8, 'f32'));
  out.push(softmaxCase([16, 1024, 1024], 'f32'), softmaxCase([16, 1024, 1024], 'f16'));
  return out;
}
