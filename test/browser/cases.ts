// The browser test's cases, shared by the page (which runs them on navigator.gpu) and the Node
// test (which recomputes the references from the same seed and checks what the page sent back).
// No node:* imports here: this module is loaded by the browser.
import type { Shape } from '../../src/core/tensor.js';
import { numel } from '../../src/core/tensor.js';
import { fromF16, toF16 } from '../../src/core/dtype.js';
import { binaryRef } from '../../src/ops/reference/elementwise.js';
import { matmulRef } from '../../src/ops/reference/matmul.js';
import { randomArray } from '../support/random.js';

export { randomArray };

export interface AddCase { kind: 'add'; name: string; a: Shape; b: Shape; dtype: 'f32' | 'f16' }
export interface MatmulCase { kind: 'matmul'; name: string; M: number; N: number; K: number; bias: boolean }
export type Case = AddCase | MatmulCase;

export const CASES: readonly Case[] = [
  { kind: 'add', name: 'add f32 [2,3,1,33] + [7,1]', a: [2, 3, 1, 33], b: [7, 1], dtype: 'f32' },
  { kind: 'add', name: 'add f32 [1] + [5,1,257]', a: [1], b: [5, 1, 257], dtype: 'f32' },
  { kind: 'add', name: 'add f16 [4,1,31] + [13,31]', a: [4, 1, 31], b: [13, 31], dtype: 'f16' },
  { kind: 'matmul', name: 'matmulTiled M=37 N=45 K=29 +bias', M: 37, N: 45, K: 29, bias: true },
  { kind: 'matmul', name: 'matmulTiled M=64 N=17 K=130', M: 64, N: 17, K: 130, bias: false },
];

/** The inputs of case i for a seed; f16 cases get f16-representable values. */
export function caseInputs(c: Case, i: number, seed: number): Float32Array[] {
  const s = seed * 131 + i * 17;
  if (c.kind === 'add') {
    const round = (a: Float32Array) => (c.dtype === 'f16' ? fromF16(toF16(a)) : a);
    return [round(randomArray(numel(c.a), s, 4)), round(randomArray(numel(c.b), s + 1, 4))];
  }
  const inputs = [randomArray(c.M * c.K, s), randomArray(c.N * c.K, s + 1)];
  if (c.bias) inputs.push(randomArray(c.N, s + 2));
  return inputs;
}

/** The TypeScript reference output of case c (f16 cases: the f32 result rounded to f16). */
export function caseReference(c: Case, inputs: Float32Array[]): Float32Array {
  if (c.kind === 'add') {
    const want = binaryRef('add', inputs[0]!, c.a, inputs[1]!, c.b).data;
    return c.dtype === 'f16' ? fromF16(toF16(want)) : want;
  }
  return matmulRef(inputs[0]!, inputs[1]!, c.M, c.N, c.K, inputs[2]);
}

export interface Tolerance { atol: number; rtol: number }

/** Same tolerances as test/ops: f32 add exact, f16 add 1 ulp, matmul 2e-6·K + 1e-5 relative. */
export function caseTolerance(c: Case): Tolerance {
  if (c.kind === 'add') return c.dtype === 'f16' ? { atol: 1e-3, rtol: 2 ** -10 } : { atol: 0, rtol: 0 };
  return { atol: 2e-6 * c.K, rtol: 1e-5 };
}

export interface Comparison { ok: boolean; maxAbsErr: number; worst: number; detail: string }

/** Element-wise |got − want| <= atol + rtol·|want|; reports the worst element. */
export function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): Comparison {
  if (got.length !== want.length) return { ok: false, maxAbsErr: Infinity, worst: -1, detail: `length ${got.length}, want ${want.length}` };
  let maxAbsErr = 0, worst = -1, worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    const err = Math.abs(g - w);
    if (Number.isNaN(err) || err > maxAbsErr) maxAbsErr = Number.isNaN(err) ? Infinity : err;
    const excess = Number.isNaN(err) ? Infinity : err - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > worstExcess) { worstExcess = excess; worst = i; }
  }
  return worst < 0
    ? { ok: true, maxAbsErr, worst, detail: '' }
    : { ok: false, maxAbsErr, worst, detail: `element ${worst} is ${got[worst]}, want ${want[worst]} (tolerance ${tol.atol} + ${tol.rtol}·|want|)` };
}
