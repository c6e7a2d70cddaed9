// Runs in the browser (loaded by page.html as a native ES module from dist/): requests the GPU
// through navigator.gpu with requestGpu(), runs the shared cases and a scope/dispose leak check, and
// returns a JSON-able result that page.html POSTs to the test server. No node:* imports.
import '../../src/wgsl/index.js';
import { requestGpu, type Gpu } from '../../src/core/device.js';
import { Tensor } from '../../src/core/tensor.js';
import { scope } from '../../src/core/registry.js';
import { toF16 } from '../../src/core/dtype.js';
import { add } from '../../src/ops/elementwise.js';
import { matmulTiled } from '../../src/ops/matmul.js';
import { CASES, caseInputs, caseReference, caseTolerance, compare, randomArray, type Case, type Comparison } from './cases.js';

export interface CaseResult extends Comparison { name: string; got: number[] }

export interface LeakResult {
  /** live buffers (relative to before) while the scope's result is alive: 1 */
  liveWhileHeld: number;
  /** after disposing the result: 0 */
  liveAfterDispose: number;
  /** after a scope that threw: 0 */
  liveAfterThrow: number;
  /** the error name a use after dispose raised: OwnershipError */
  useAfterDispose: string;
  /** the scope's result matches the reference */
  value: Comparison;
}

export interface PageResult {
  ok: boolean;
  error?: string;
  userAgent: string;
  adapter?: Gpu['adapter'];
  features?: string[];
  limits?: Gpu['limits'];
  cases: CaseResult[];
  leak?: LeakResult;
  skipped: string[];
  ms: number;
}

function runCase(gpu: Gpu, c: Case, inputs: Float32Array[]): Tensor {
  return scope(() => {
    if (c.kind === 'add') {
      const up = (data: Float32Array, shape: readonly number[], name: string) =>
        (c.dtype === 'f16' ? Tensor.fromArray(gpu, toF16(data), shape, 'f16', name) : Tensor.fromArray(gpu, data, shape, 'f32', name));
      return add(up(inputs[0]!, c.a, 'a'), up(inputs[1]!, c.b, 'b'));
    }
    const x = Tensor.fromArray(gpu, inputs[0]!, [c.M, c.K], 'f32', 'x');
    const w = Tensor.fromArray(gpu, inputs[1]!, [c.N, c.K], 'f32', 'w');
    const b = inputs[2] ? Tensor.fromArray(gpu, inputs[2], [c.N], 'f32', 'bias') : undefined;
    return matmulTiled(x, w, b);
  });
}

async function leakCheck(gpu: Gpu, seed: number): Promise<LeakResult> {
  await gpu.sync();
  const before = gpu.tensors.liveBuffers;
  const M = 9, N = 11, K = 20;
  const x = randomArray(M * K, seed + 1001), w = randomArray(N * K, seed + 1002), r = randomArray(N, seed + 1003);
  // Intermediates: x, w, h, the reshaped view of h, r; only the returned sum survives.
  const y = scope(() => {
    const h = matmulTiled(Tensor.fromArray(gpu, x, [M, K]), Tensor.fromArray(gpu, w, [N, K]));
    const h3 = h.reshape([1, M, N]);
    return add(h3, Tensor.fromArray(gpu, r, [N]));
  });
  const liveWhileHeld = gpu.tensors.liveBuffers - before;
  const got = await y.toArray();
  y.dispose();
  const liveAfterDispose = gpu.tensors.liveBuffers - before;
  let useAfterDispose = 'nothing thrown';
  try { void y.buffer; } catch (e) { useAfterDispose = (e as Error).name; }
  try {
    scope(() => { Tensor.zeros(gpu, [64]); throw new Error('thrown inside a scope'); });
  } catch { /* expected */ }
  const liveAfterThrow = gpu.tensors.liveBuffers - before;
  await gpu.sync();
  const h = new Float32Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc += x[m * K + k]! * w[n * K + k]!;
    h[m * N + n] = Math.fround(acc);
  }
  const want = new Float32Array(M * N);
  for (let i = 0; i < want.length; i++) want[i] = h[i]! + r[i % N]!;
  return { liveWhileHeld, liveAfterDispose, liveAfterThrow, useAfterDispose, value: compare(got, want, { atol: 2e-6 * K, rtol: 1e-5 }) };
}

export async function run(seed: number): Promise<PageResult> {
  const t0 = performance.now();
  const result: PageResult = { ok: false, userAgent: navigator.userAgent, cases: [], skipped: [], ms: 0 };
  let gpu: Gpu | undefined;
  try {
    gpu = await requestGpu();
    result.adapter = gpu.adapter;
    result.features = [...gpu.device.features].map(String).sort();
    result.limits = gpu.limits;
    for (const [i, c] of CASES.entries()) {
      if (c.kind === 'add' && c.dtype === 'f16' && !gpu.hasF16) { result.skipped.push(`${c.name}: no shader-f16`); continue; }
      const inputs = caseInputs(c, i, seed);
      const y = runCase(gpu, c, inputs);
      const got = await y.toArray();
      y.dispose();
      result.cases.push({ name: c.name, ...compare(got, caseReference(c, inputs), caseTolerance(c)), got: Array.from(got) });
    }
    result.leak = await leakCheck(gpu, seed);
    await gpu.sync();
    const l = result.leak;
    result.ok = result.cases.every((c) => c.ok) && l.value.ok && l.liveWhileHeld === 1 && l.liveAfterDispose === 0 &&
      l.liveAfterThrow === 0 && l.useAfterDispose === 'OwnershipError';
  } catch (e) {
    result.ok = false;
    result.error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  } finally {
    gpu?.destroy();
    result.ms = Math.round(performance.now() - t0);
  }
  return result;
}
