// Shared test support: one device per test file, and a closeness check that reports the worst
// element (index, got, want) instead of a bare boolean.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import '../../src/wgsl/index.js';
import { requestGpu, type Gpu, type GpuOptions } from '../../src/core/device.js';
import { Tensor } from '../../src/core/tensor.js';
import { fromF16, toF16 } from '../../src/core/dtype.js';

let shared: Gpu | undefined;

/** The device for this test file; destroyed when the file's tests finish. */
export async function testGpu(options?: GpuOptions): Promise<Gpu> {
  if (options) {
    const g = await requestGpu(options);
    after(() => g.destroy());
    return g;
  }
  if (!shared) {
    shared = await requestGpu();
    const g = shared;
    after(() => g.destroy());
  }
  return shared;
}

export interface Tolerance { atol: number; rtol: number }

/** Asserts |got - want| <= atol + rtol·|want| element-wise; NaN and Inf must match exactly. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, what: string): void {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) { worst = i; worstExcess = Infinity; break; }
      continue;
    }
    const excess = Math.abs(g - w) - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > worstExcess) { worstExcess = excess; worst = i; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${got[worst]}, want ${want[worst]} (tolerance ${tol.atol} + ${tol.rtol}·|want|)`);
  }
}

/** A tensor of `data` stored as dt, and the values it really holds (f16: rounded) for the reference. */
export function uploadAs(gpu: Gpu, data: Float32Array, shape: number[], dt: 'f32' | 'f16'): { t: Tensor; exact: Float32Array } {
  if (dt === 'f32') return { t: Tensor.fromArray(gpu, data, shape), exact: data };
  const bits = toF16(data);
  return { t: Tensor.fromArray(gpu, bits, shape, 'f16'), exact: fromF16(bits) };
}

export { randomArray } from './random.js';
