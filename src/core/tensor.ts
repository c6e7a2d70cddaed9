// Tensors: a shape, a dtype and contiguous GPU storage owned explicitly. Storage comes from the
// device's buffer pool and goes back to it on dispose(); reshape() shares storage (ref-counted).
import type { Gpu } from './device.js';
import type { BufferBinding } from './kernel.js';
import type { PooledBuffer } from './pool.js';
import { BYTES_PER_ELEMENT, type DType, type HostArray, hostArray, dtypeOfArray } from './dtype.js';
import { LimitError, OwnershipError, ShapeError } from './errors.js';
import { track, type Disposable } from './registry.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be non-negative integers)`);
  }
}

/** Pooled GPU memory shared by a tensor and its reshaped views. */
class Storage {
  refs = 1;
  constructor(readonly gpu: Gpu, readonly entry: PooledBuffer, readonly byteSize: number) {
    gpu.tensors.onAlloc(byteSize);
  }
  release(): void {
    if (--this.refs > 0) return;
    this.gpu.tensors.onFree(this.byteSize);
    this.gpu.pool.release(this.entry, this.gpu.stream.epoch);
  }
}

export class Tensor implements Disposable {
  readonly gpu: Gpu;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly name: string;
  private storage: Storage | null;

  private constructor(gpu: Gpu, storage: Storage, shape: Shape, dtype: DType, name: string) {
    this.gpu = gpu;
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.name = name;
    track(this);
  }

  /** Uninitialized storage (contents are whatever the pool's buffer last held). */
  static empty(gpu: Gpu, shape: Shape, dtype: DType = 'f32', name = 'tensor', opts: { exact?: boolean } = {}): Tensor {
    checkShape(shape, name);
    const bytes = numel(shape) * BYTES_PER_ELEMENT[dtype];
    if (bytes > gpu.limits.maxBufferSize) {
      throw new LimitError(`${name} ${shapeStr(shape)} ${dtype} needs ${bytes} B, over this device's maxBufferSize ${gpu.limits.maxBufferSize} B`);
    }
    const entry = gpu.pool.acquire(bytes, name, opts.exact);
    return new Tensor(gpu, new Storage(gpu, entry, bytes), shape, dtype, name);
  }

  static zeros(gpu: Gpu, shape: Shape, dtype: DType = 'f32', name = 'zeros'): Tensor {
    const t = Tensor.empty(gpu, shape, dtype, name);
    if (t.byteSize > 0) gpu.stream.clear(t.buffer, 0, Math.ceil(t.byteSize / 4) * 4);
    return t;
  }

  /** Uploads a typed array (Float32Array f32, Uint16Array f16 bits, Int32Array i32, Uint32Array u32). */
  static fromArray(gpu: Gpu, data: ArrayBufferView, shape: Shape, dtype?: DType, name = 'tensor'): Tensor {
    const dt = dtype ?? dtypeOfArray(data);
    checkShape(shape, name);
    const expected = numel(shape) * BYTES_PER_ELEMENT[dt];
    if (data.byteLength !== expected) {
      throw new ShapeError(`${name}: ${data.byteLength} bytes of data for shape ${shapeStr(shape)} ${dt}, which needs ${expected}`);
    }
    const t = Tensor.empty(gpu, shape, dt, name);
    t.write(0, data);
    return t;
  }

  get disposed(): boolean { return this.storage === null; }
  get size(): number { return numel(this.shape); }
  get byteSize(): number { return this.size * BYTES_PER_ELEMENT[this.dtype]; }
  get rank(): number { return this.shape.length; }

  get buffer(): GPUBuffer {
    return this.live().entry.buffer;
  }

  private live(): Storage {
    if (!this.storage) throw new OwnershipError(`${this.name} ${shapeStr(this.shape)} was used after dispose()`);
    return this.storage;
  }

  binding(): BufferBinding {
    return { buffer: this.buffer, offset: 0, size: Math.max(this.byteSize, 4), label: `${this.name} ${shapeStr(this.shape)} ${this.dtype}` };
  }

  /** Writes bytes at a byte offset (uploads; the weight loader streams chunks through this). */
  write(byteOffset: number, data: ArrayBufferView): void {
    const s = this.live();
    if (byteOffset < 0 || byteOffset + data.byteLength > this.byteSize) {
      throw new ShapeError(`${this.name}: write of ${data.byteLength} B at ${byteOffset} is outside its ${this.byteSize} B`);
    }
    const stream = this.gpu.stream;
    // The pool may hand back a buffer that recorded-but-unsubmitted work still reads; writeBuffer
    // would overtake that work on the queue, so submit it first.
    if (s.entry.releasedEpoch === stream.epoch && stream.pending > 0) stream.submit();
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // writeBuffer needs 4-byte multiples, and crashes on SharedArrayBuffer-backed data: copy then.
    if (bytes.byteLength % 4 !== 0 || byteOffset % 4 !== 0 || !(bytes.buffer instanceof ArrayBuffer)) {
      const start = byteOffset - (byteOffset % 4);
      if (start !== byteOffset) throw new ShapeError(`${this.name}: writes must start at a 4-byte aligned offset (got ${byteOffset})`);
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    this.gpu.device.queue.writeBuffer(s.entry.buffer, byteOffset, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A view with another shape of the same size, sharing storage. Dispose it like any tensor. */
  reshape(shape: Shape, name = this.name): Tensor {
    checkShape(shape, name);
    if (numel(shape) !== this.size) throw new ShapeError(`reshape of ${this.name}: ${shapeStr(this.shape)} has ${this.size} elements, ${shapeStr(shape)} has ${numel(shape)}`);
    const s = this.live();
    s.refs++;
    return new Tensor(this.gpu, s, shape, this.dtype, name);
  }

  /** Reads the tensor back (submits pending work). Returns a fresh host array. */
  async read(): Promise<HostArray> {
    const s = this.live();
    const bytes = Math.ceil(this.byteSize / 4) * 4;
    if (bytes === 0) return hostArray(this.dtype, new ArrayBuffer(0));
    const gpu = this.gpu;
    const staging = gpu.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      gpu.stream.copy(s.entry.buffer, 0, staging, 0, bytes);
      gpu.stream.submit();
      await staging.mapAsync(GPUMapMode.READ);
      gpu.check();
      const out = new ArrayBuffer(bytes);
      new Uint8Array(out).set(new Uint8Array(staging.getMappedRange()));
      staging.unmap();
      return hostArray(this.dtype, out, 0, this.size);
    } finally {
      staging.destroy();
    }
  }

  /** Reads as plain numbers (f16 widened), for tests and small outputs. */
  async toArray(): Promise<Float32Array | Int32Array | Uint32Array> {
    const a = await this.read();
    if (this.dtype !== 'f16') return a as Float32Array | Int32Array | Uint32Array;
    const { fromF16 } = await import('./dtype.js');
    return fromF16(a as Uint16Array);
  }

  dispose(): void {
    if (!this.storage) throw new OwnershipError(`${this.name} ${shapeStr(this.shape)} was disposed twice`);
    this.storage.release();
    this.storage = null;
  }

  [Symbol.dispose](): void {
    if (this.storage) this.dispose();
  }
}
