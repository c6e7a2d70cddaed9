// Per-kernel GPU time: every dispatch gets a compute pass of its own whose beginning and end are
// timestamped, and the times are summed by kernel label. Slower than normal encoding (one pass per
// dispatch), so it is off unless asked for: `gpu.stream.profile()` or LLAVA_ST_PROFILE=1 in the CLI
// (LLAVA_ST_PROFILE=shapes: one row per kernel and op shape, which says what to tune for).
import type { Gpu } from './device.js';

const CAPACITY = 2048; // dispatches per query set; the stream submits when it is full

export interface KernelTime { label: string; calls: number; ms: number }

export class Profiler {
  readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private labels: string[] = [];
  private readonly totals = new Map<string, KernelTime>();
  private pendingReads: Promise<void>[] = [];
  /** Set by the kernel policy around one op's dispatches when timing by shape: `gemm:smallK 72900×32×96`. */
  context: string | undefined;

  /** byShape: each row is a kernel and the op call (class and shape) it served, not the kernel alone. */
  constructor(private readonly gpu: Gpu, readonly byShape = false) {
    this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY });
    this.resolveBuf = gpu.device.createBuffer({ size: 16 * CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  get full(): boolean { return this.labels.length >= CAPACITY; }

  /** The timestamp writes for the next dispatch. */
  next(label: string): GPUComputePassTimestampWrites {
    const i = this.labels.length;
    this.labels.push(this.context === undefined ? label : `${label}  ${this.context}`);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the resolve of this batch's timestamps into `encoder` and returns a reader for after the submit. */
  resolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    const n = this.labels.length;
    if (n === 0) return undefined;
    const labels = this.labels;
    this.labels = [];
    const read = this.gpu.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, read, 0, 16 * n);
    return () => {
      this.pendingReads.push(read.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        labels.forEach((label, i) => {
          const e = this.totals.get(label) ?? { label, calls: 0, ms: 0 };
          e.calls++;
          e.ms += Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
          this.totals.set(label, e);
        });
        read.unmap();
        read.destroy();
      }));
    };
  }

  /** Waits for every batch's times; returns the totals by kernel, slowest first. */
  async report(): Promise<KernelTime[]> {
    this.gpu.stream.submit();
    await Promise.all(this.pendingReads);
    this.pendingReads = [];
    return [...this.totals.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}

export function formatProfile(times: KernelTime[]): string {
  const total = times.reduce((s, t) => s + t.ms, 0);
  const rows = times.map((t) => `${t.ms.toFixed(1).padStart(10)} ms ${(100 * t.ms / total).toFixed(1).padStart(5)}% ${String(t.calls).padStart(7)}×  ${t.label}`);
  return [`${'GPU time'.padStart(13)}  share   calls  kernel`, ...rows, `${total.toFixed(1).padStart(10)} ms total`].join('\n');
}
