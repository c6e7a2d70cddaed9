// What a benchmark case is: a GPU op on a fixed shape, checked against its reference before it is
// timed. Kernel families put their cases in src/bench/kernels/<family>.ts; bench/harness.ts times them.
import type { Tensor } from '../core/tensor.js';
import type { Gpu } from '../core/device.js';
import type { OpName } from '../ops/policy.js';

export interface PreparedCase {
  /** Records one run of the op (no submit, no wait). May return the output tensor; the harness disposes it. */
  run(): { dispose(): void } | void;
  /** Compares one run's output with the reference; resolves to a problem description or undefined if it matches. */
  check(): Promise<string | undefined>;
  /** Frees inputs and weights. */
  dispose(): void;
}

export interface BenchCase {
  /** Kernel family and variant, e.g. "matmul.reg4x4.f32". */
  name: string;
  /** Human-readable shape, e.g. "1024×1024×1024". */
  shape: string;
  /** Useful floating-point operations of one run (2 per multiply-add), if compute-bound. */
  flops?: number;
  /** Bytes one run must move at least (reads + writes), if memory-bound. */
  bytes?: number;
  /** Which ceiling the figure is judged against. */
  bound: 'compute-f32' | 'compute-f16' | 'memory';
  prepare(gpu: Gpu): Promise<PreparedCase> | PreparedCase;
  /** The policy's op and shape class this case exercises: the harness names the variant the
   *  policy picked and times the other candidates as runners-up (ops/policy.ts). */
  policy?: { op: OpName; cls: string };
}

/** One run of a case's kernel, read back to the host (the output tensor is released). */
export async function readBack(run: () => Tensor): Promise<Float32Array> {
  const y = run();
  try { return (await y.toArray()) as Float32Array; } finally { y.dispose(); }
}
