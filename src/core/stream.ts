// The command stream: every op records into one open command encoder (one compute pass while
// dispatches follow each other), and nothing is submitted until someone needs a result (a read
// back, a sync) or the batch is large. A dispatch costs ~20 us inside a pass on lavapipe and
// 25-38 us with a submit of its own, and the JS thread competes with lavapipe for the same cores
// while it waits, so we wait rarely and in large batches.
//
// Uniform parameters of all dispatches of one batch are packed into one ring buffer, written with
// a single queue.writeBuffer just before the submit (queue order puts it before the batch).
import type { Gpu } from './device.js';
import { DeviceError, LimitError } from './errors.js';
import { Profiler } from './profiler.js';

const UNIFORM_RING_BYTES = 1 << 20;

export interface UniformSlot { buffer: GPUBuffer; offset: number; size: number }

export class CommandStream {
  /** Increments at every submit: a buffer released in the current epoch may still be read by recorded work. */
  epoch = 0;
  /** Dispatches recorded since the last submit. */
  pending = 0;
  /** Submit automatically after this many dispatches (keeps command buffers and uniform use bounded). */
  maxDispatchesPerSubmit = 1024;
  dispatches = 0;
  submits = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly ring: GPUBuffer;
  private readonly ringHost = new ArrayBuffer(UNIFORM_RING_BYTES);
  private ringCursor = 0;
  private readonly align: number;
  private readonly gpu: Gpu;
  private profiler: Profiler | undefined;
  private lastLabel = '';
  private readonly t0 = performance.now();
  /**
   * LLAVA_ST_TRACE=N (Node): one stderr line as each submitted batch completes on the GPU, with
   * batches of at most N dispatches (1: each kernel's own line): how far a long run (a full-size
   * prefill takes hours on a CPU adapter) has got, since the JS thread records the whole prefill
   * long before the GPU ends it.
   */
  private readonly trace = typeof process !== 'undefined' ? Number(process.env?.LLAVA_ST_TRACE ?? 0) : 0;

  constructor(gpu: Gpu) {
    this.gpu = gpu;
    this.align = Math.max(gpu.limits.minUniformBufferOffsetAlignment, 16);
    this.ring = gpu.device.createBuffer({
      size: UNIFORM_RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform-ring',
    });
    if (this.trace > 0) this.maxDispatchesPerSubmit = Math.floor(this.trace);
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.gpu.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) { this.pass.end(); this.pass = null; }
  }

  /** Copies `data` (<= 64 KiB) into this batch's uniform ring and returns where it lives. */
  uniforms(data: ArrayBufferView): UniformSlot {
    const size = Math.ceil(data.byteLength / 16) * 16;
    if (size > this.gpu.limits.maxUniformBufferBindingSize) {
      throw new LimitError(`uniform block of ${size} B exceeds maxUniformBufferBindingSize ${this.gpu.limits.maxUniformBufferBindingSize}`);
    }
    if (this.ringCursor + size > UNIFORM_RING_BYTES) this.submit();
    const offset = this.ringCursor;
    new Uint8Array(this.ringHost, offset, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.ringCursor = Math.ceil((offset + size) / this.align) * this.align;
    return { buffer: this.ring, offset, size };
  }

  /** Whether uniforms can be taken without the ring overflowing mid-dispatch setup. */
  reserve(bytes: number): void {
    if (this.ringCursor + bytes + this.align > UNIFORM_RING_BYTES || this.pending >= this.maxDispatchesPerSubmit) this.submit();
  }

  /** Times every following dispatch by kernel (see core/profiler.ts); needs timestamp-query. */
  profile(opts: { byShape?: boolean } = {}): Profiler {
    if (!this.gpu.hasTimestamps) throw new DeviceError('profiling needs the timestamp-query feature, which this device lacks');
    this.submit();
    this.profiler ??= new Profiler(this.gpu, opts.byShape);
    return this.profiler;
  }

  /** The profiler, when one is timing (the policy labels op shapes through it). */
  get profiling(): Profiler | undefined { return this.profiler; }

  dispatch(pipeline: GPUComputePipeline, bindGroups: GPUBindGroup[], x: number, y = 1, z = 1, label = 'kernel'): void {
    let pass = this.pass;
    if (this.profiler) {
      if (this.profiler.full) this.submit();
      this.endPass();
      pass = this.ensureEncoder().beginComputePass({ timestampWrites: this.profiler.next(label) });
    } else if (!pass) {
      pass = this.pass = this.ensureEncoder().beginComputePass();
    }
    pass.setPipeline(pipeline);
    bindGroups.forEach((g, i) => pass.setBindGroup(i, g));
    pass.dispatchWorkgroups(x, y, z);
    this.lastLabel = label;
    if (this.profiler) pass.end();
    this.pending++;
    this.dispatches++;
  }

  /** Records a GPU timestamp between passes (an empty pass whose beginning is timestamped). */
  timestamp(querySet: GPUQuerySet, index: number): void {
    this.endPass();
    this.ensureEncoder().beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: index } }).end();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.pending++;
  }

  clear(buffer: GPUBuffer, offset: number, size: number): void {
    this.endPass();
    this.ensureEncoder().clearBuffer(buffer, offset, size);
    this.pending++;
  }

  resolveQuery(set: GPUQuerySet, count: number, dst: GPUBuffer): void {
    this.endPass();
    this.ensureEncoder().resolveQuerySet(set, 0, count, dst, 0);
  }

  /** Submits everything recorded so far (no wait). */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.ringCursor > 0) {
      this.gpu.device.queue.writeBuffer(this.ring, 0, this.ringHost, 0, this.ringCursor);
      this.ringCursor = 0;
    }
    const readProfile = this.profiler?.resolve(this.encoder);
    this.gpu.device.queue.submit([this.encoder.finish()]);
    readProfile?.();
    if (this.trace > 0) {
      const upTo = this.dispatches, label = this.lastLabel;
      void this.gpu.device.queue.onSubmittedWorkDone().then(() => {
        process.stderr.write(`gpu: ${upTo} of ${this.dispatches} recorded dispatches done at ${((performance.now() - this.t0) / 1000).toFixed(1)} s (last: ${label})\n`);
      });
    }
    this.encoder = null;
    this.pending = 0;
    this.epoch++;
    this.submits++;
  }
}
