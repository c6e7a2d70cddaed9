// The adapter's own ceilings: what a kernel can reach at best on this device. Every benchmark
// reports its figures as a fraction of these, so a number means something on lavapipe and on a
// real GPU alike. Every timing lets the JS thread sleep while the GPU works (core/timer.ts: on
// lavapipe a polling JS thread takes a core from the kernel; that is why this used to read 50–56
// GFLOP/s f32 where the same loop measures 75–83 with the thread idle).
//   fma f32/f16  GFLOP/s of register-only multiply-adds (8 independent vec4 chains per invocation,
//                64-wide workgroups, ~0.3 s a dispatch on lavapipe, median of 5)
//   read         GB/s of a contiguous-chunk vec4 read-and-sum, the best of a few chunk sizes
//   copy         GB/s of a contiguous-chunk vec4 kernel copy (bytes read + written), the same way
// A ceiling is the best this adapter reaches, so where the access pattern matters (lavapipe runs
// each workgroup on a CPU thread: long contiguous runs per invocation and small workgroups win
// there; wide coalesced workgroups win on GPUs) several patterns are measured and the best kept.
//   dispatch     µs per tiny dispatch recorded in one pass
//   readback     µs for submit + mapAsync of 4 bytes
import type { Gpu } from '../core/device.js';
import { Tensor } from '../core/tensor.js';
import { GpuTimer, median } from '../core/timer.js';
import type { Kernel } from '../core/kernel.js';
import { fmaRate, timeMedian } from '../ops/tune.js';

export interface Ceilings {
  adapter: string;
  fmaF32GFlops: number;
  /** The same loop timed while the JS thread polls for the result (what this used to report). */
  fmaF32PollingGFlops: number;
  fmaF16GFlops: number | null;
  readGBs: number;
  copyGBs: number;
  dispatchUs: number;
  readbackUs: number;
  timing: 'timestamp' | 'wall';
}

const WG = 64;

function kernel(gpu: Gpu, entry: string, dtype: 'f32' | 'f16'): Kernel {
  return gpu.kernels.get({ source: 'ceilings', entryPoint: entry, defines: { T: dtype }, constants: entry === 'tiny_dispatch' ? {} : { WG }, ...(dtype === 'f16' ? { enables: ['f16'] } : {}) });
}

export async function measureCeilings(gpu: Gpu, log: (s: string) => void = () => {}): Promise<Ceilings> {
  const timer = new GpuTimer(gpu);
  try {
    log('fma f32');
    // 128 Ki invocations × 2048 iterations: ~0.3 s a dispatch on lavapipe f32, so thread start-up
    // and clock ramps do not count.
    const size = { invocations: 128 * 1024, wg: 64, reps: 5 };
    const fmaF32GFlops = await fmaRate(gpu, timer, 'f32', { ...size, iters: 2048 });
    const fmaF32PollingGFlops = await fmaRate(gpu, timer, 'f32', { ...size, iters: 2048, polling: true });
    log('fma f16');
    const fmaF16GFlops = gpu.hasF16 ? await fmaRate(gpu, timer, 'f16', { ...size, iters: 512 }) : null;

    const bytes = 64 << 20, vec4s = bytes / 16;
    const big = Tensor.zeros(gpu, [bytes / 4]), out = Tensor.empty(gpu, [bytes / 4]);
    const bestMs = async (entry: string, wg: number): Promise<number> => {
      let best = Infinity;
      for (const chunk of [16, 256, 1024]) {
        const k = gpu.kernels.get({ source: 'ceilings', entryPoint: entry, defines: { T: 'f32' }, constants: { WG: wg } });
        best = Math.min(best, await timeMedian(timer, () => k.dispatch([big.binding(), out.binding()], Math.ceil(Math.ceil(vec4s / chunk) / wg), new Uint32Array([vec4s, 0, chunk, 0])), 3));
      }
      return best;
    };
    log('read');
    const tRead = Math.min(await bestMs('read_rate', 8), await bestMs('read_rate', 64));
    log('copy');
    const tCopy = Math.min(await bestMs('copy_rate', 8), await bestMs('copy_rate', 64));
    big.dispose(); out.dispose();

    log('dispatch');
    const a = Tensor.zeros(gpu, [4]), b = Tensor.empty(gpu, [4]);
    const tiny = kernel(gpu, 'tiny_dispatch', 'f32');
    const n = 200;
    const tDispatch = await timeMedian(timer, () => { for (let i = 0; i < n; i++) tiny.dispatch([a.binding(), b.binding()], [1, 1, 1], new Uint32Array([0, 0, 0, 0])); }, 3);
    log('readback');
    const rb: number[] = [];
    for (let i = 0; i < 8; i++) {
      tiny.dispatch([a.binding(), b.binding()], [1, 1, 1], new Uint32Array([0, 0, 0, 0]));
      const t0 = performance.now();
      await b.read();
      rb.push(performance.now() - t0);
    }
    a.dispose(); b.dispose();
    return {
      adapter: [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.device, gpu.adapter.description].filter(Boolean).join(' / '),
      fmaF32GFlops, fmaF32PollingGFlops, fmaF16GFlops,
      readGBs: bytes / (tRead * 1e6),
      copyGBs: (2 * bytes) / (tCopy * 1e6),
      dispatchUs: (tDispatch * 1000) / n,
      readbackUs: median(rb.slice(1)) * 1000,
      timing: gpu.hasTimestamps ? 'timestamp' : 'wall',
    };
  } finally {
    timer.destroy();
  }
}

export function formatCeilings(c: Ceilings): string {
  const f = (x: number | null, d = 1) => (x === null ? 'n/a' : x.toFixed(d));
  return [
    `f32 FMA        ${f(c.fmaF32GFlops)} GFLOP/s (${f(c.fmaF32PollingGFlops)} with the JS thread polling meanwhile)`,
    `f16 FMA        ${f(c.fmaF16GFlops)} GFLOP/s`,
    `read           ${f(c.readGBs, 2)} GB/s`,
    `copy           ${f(c.copyGBs, 2)} GB/s (read + write)`,
    `dispatch       ${f(c.dispatchUs)} µs each, in one pass`,
    `read back      ${f(c.readbackUs)} µs (submit + map 4 B)`,
    `timing         ${c.timing === 'timestamp' ? 'GPU timestamp queries' : 'wall clock'}`,
  ].join('\n');
}
