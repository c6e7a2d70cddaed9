// GPU buffer pool. Creating a buffer costs far more than reusing one (a new 64 MiB buffer takes
// ~50 ms on lavapipe), so released buffers are kept by size class and handed out again.
//
// Size classes: multiples of 256 B up to 64 KiB, then 8 classes per power of two (<= 12.5% waste).

export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 4);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 8;
  return Math.ceil(b / step) * step;
}

export interface PooledBuffer {
  readonly buffer: GPUBuffer;
  readonly size: number;
  /** The command-stream epoch in which this buffer was last released (see CommandStream). */
  releasedEpoch: number;
}

export class BufferPool {
  private readonly free = new Map<number, PooledBuffer[]>();
  private readonly device: GPUDevice;
  /** Bytes of every buffer this pool created and has not destroyed (in use + idle). */
  allocatedBytes = 0;
  idleBytes = 0;
  /** Idle bytes above this are destroyed on release instead of kept. */
  maxIdleBytes = 2 ** 31;
  created = 0;
  reused = 0;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** `exact`: a buffer of just the bytes asked (rounded to 4), for long-lived tensors such as weights,
   *  where a size class would waste up to 12.5% of the model. */
  acquire(bytes: number, label?: string, exact = false): PooledBuffer {
    const size = exact ? Math.max(4, Math.ceil(bytes / 4) * 4) : sizeClass(bytes);
    const list = this.free.get(size);
    const hit = list?.pop();
    if (hit) {
      this.idleBytes -= size;
      this.reused++;
      return hit;
    }
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      ...(label ? { label } : {}),
    });
    this.allocatedBytes += size;
    this.created++;
    return { buffer, size, releasedEpoch: -1 };
  }

  release(entry: PooledBuffer, epoch: number): void {
    if (this.idleBytes + entry.size > this.maxIdleBytes) {
      entry.buffer.destroy();
      this.allocatedBytes -= entry.size;
      return;
    }
    entry.releasedEpoch = epoch;
    let list = this.free.get(entry.size);
    if (!list) this.free.set(entry.size, (list = []));
    list.push(entry);
    this.idleBytes += entry.size;
  }

  /** Destroys every idle buffer (e.g. between a model's load and its first run). */
  trim(): void {
    for (const list of this.free.values()) for (const e of list) { e.buffer.destroy(); this.allocatedBytes -= e.size; }
    this.free.clear();
    this.idleBytes = 0;
  }

  destroyAll(): void {
    this.trim();
  }
}
