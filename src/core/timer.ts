// Timing GPU work: timestamp queries around the recorded work where the adapter has them (the GPU's
// own clock, free of submit and JS overhead), otherwise wall-clock time of submit + wait.
//
// Waiting idle: while a GPU promise is pending, Dawn's node binding polls on the JS thread. On a
// software adapter that thread competes with the rasterizer for the same cores (on this project's
// 2-core machine the FMA ceiling read 50–56 GFLOP/s while polling and 75–83 idle). Given how long
// the work should take (e.g. from a warm-up run), time() sleeps through most of it before it waits.
import type { Gpu } from './device.js';

export interface Timing { ms: number; source: 'timestamp' | 'wall' }

export class GpuTimer {
  private readonly gpu: Gpu;
  private readonly querySet: GPUQuerySet | undefined;
  private readonly resolve: GPUBuffer | undefined;

  constructor(gpu: Gpu) {
    this.gpu = gpu;
    if (gpu.hasTimestamps) {
      this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    }
  }

  /** Records `work` (which must only record, not wait), runs it, and returns how long the GPU took.
   *  expectMs: how long it should take; the JS thread sleeps 90% of it before polling for the end. */
  async time(work: () => void, expectMs = 0): Promise<Timing> {
    const idle = () => (expectMs >= 2 ? new Promise<void>((r) => setTimeout(r, 0.9 * expectMs)) : undefined);
    const { gpu } = this;
    await gpu.sync(); // start from an idle queue
    if (!this.querySet || !this.resolve) {
      const t0 = performance.now();
      work();
      gpu.stream.submit();
      await idle();
      await gpu.sync();
      return { ms: performance.now() - t0, source: 'wall' };
    }
    gpu.stream.timestamp(this.querySet, 0);
    work();
    gpu.stream.timestamp(this.querySet, 1);
    gpu.stream.resolveQuery(this.querySet, 2, this.resolve);
    const read = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    gpu.stream.copy(this.resolve, 0, read, 0, 16);
    gpu.stream.submit();
    await idle();
    await read.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(read.getMappedRange());
    read.unmap();
    read.destroy();
    gpu.check();
    return { ms: Number(t1! - t0!) / 1e6, source: 'timestamp' };
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
