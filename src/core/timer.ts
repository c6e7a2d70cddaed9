// Timing GPU work: timestamp queries around the recorded work where the adapter has them (the GPU's
// own clock, free of submit and JS overhead), otherwise wall-clock time of submit + wait.
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

  /** Records `work` (which must only record, not wait), runs it, and returns how long the GPU took. */
  async time(work: () => void): Promise<Timing> {
    const { gpu } = this;
    await gpu.sync(); // start from an idle queue
    if (!this.querySet || !this.resolve) {
      const t0 = performance.now();
      work();
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
