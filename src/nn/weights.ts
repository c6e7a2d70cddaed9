// Weights by checkpoint name. Modules are built synchronously and `take` what they need: the
// name and shape are checked against the checkpoint's header at once (typed errors before any GPU
// work), and GPU storage is allocated empty. `load()` then streams every taken tensor from disk
// in bounded chunks (default 8 MiB) straight into its GPU storage; a shard is never held in memory.
//
// Dtype policy (design.md "Dtypes"): the compute dtype is f32 (reference) or f16 (fast).
//   F32 -> f32 as is | f16 via convert on the GPU
//   BF16 -> raw 16-bit words uploaded into a u32 staging tensor (one chunk at a time), widened on
//           the GPU (bf16ToF32 / bf16ToF16): bf16 is the top half of an f32, no offline step
//   F16 -> f16 as is | f32 via convert on the GPU
// How each tensor is stored (f32, f16, q8, q4 apart from the compute dtype) is decided by
// nn/weight_format's storageOf. Quantized weights are quantized a chunk at a time as the
// checkpoint streams (ops/quantize on the GPU, core/quant's layout), so the model is never whole in
// f32 anywhere.
// A weight over maxStorageBufferBindingSize becomes a SplitWeight of row chunks, filled from the
// same stream. Row ranges of one tensor (nn.MultiheadAttention's packed in_proj q/k/v) are taken
// as separate tensors the same way.
import type { Gpu } from '../core/device.js';
import type { Checkpoint } from '../core/checkpoint.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import { codesPerWord } from '../core/quant.js';
import { quantizeInto, type RawDType } from '../ops/quantize.js';
import { DTYPE_SIZE } from '../core/safetensors.js';
import { QCODES, QGROUPS, storedQuantOf, storedQuantShapes, type StoredQuant } from './quantized_checkpoint.js';
import { QuantTensor } from '../ops/quant_linear.js';
import { checkLayoutFeatures, defaultLayout, storageOf, type ComputeDType, type WeightLayout, type Storage } from './weight_format.js';
import { DTypeError, LimitError, WeightError } from '../core/errors.js';
import { keep, scope } from '../core/registry.js';
import { Tensor, numel, shapeStr, type Shape } from '../core/tensor.js';
import { bf16ToF16, bf16ToF32, convert } from '../ops/convert.js';
import { copyRows } from '../ops/copy.js';
import { SplitWeight, type Weight, type WeightPart } from '../ops/linear.js';

export type { ComputeDType } from './weight_format.js';

/** Present in real checkpoints, read by nothing (architecture.md §2, §7.4): never even loaded. */
export const UNUSED_BY_DESIGN: readonly RegExp[] = [
  /^model\.vision_resampler\.token_packer_fast\./,
  /^model\.vision_tower\.vision_tower\.vision_model\.post_layernorm\./,
];

export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Uploads recorded but not yet done on the GPU, at most: the JS thread reads faster than a CPU
 * adapter converts and quantizes, and every queued upload holds a host copy of its chunk until
 * the GPU takes it, so without a bound the queue (and RSS) would grow with the model.
 */
const MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/** One destination of a checkpoint tensor: source elements [start, end) -> target from element 0. */
interface Destination { target: Tensor | QuantTensor; start: number; end: number }

export interface WeightStoreOptions {
  dtype?: ComputeDType;
  /** Storage of Linear weights and the group size of quantized ones (default: the compute dtype). */
  layout?: Omit<WeightLayout, 'compute'>;
  chunkBytes?: number;
  /** Tensors at or above this many bytes are split into row chunks (default: the binding limit). */
  maxBindingBytes?: number;
}

/** What modules take weights from: a checkpoint (WeightStore) or, for benchmarks, random values. */
export interface WeightSource {
  take(name: string, expected: Shape): Tensor;
  takeRows(name: string, expected: Shape, start: number, end: number): Tensor;
  takeWeight(name: string, expected: Shape): Weight;
}

export class WeightStore implements WeightSource {
  readonly dtype: ComputeDType;
  readonly layout: WeightLayout;
  /** Set when the checkpoint itself is quantized (its metadata says how): those weights load as stored. */
  readonly stored: StoredQuant | undefined;
  private readonly chunkBytes: number;
  private readonly maxBindingBytes: number;
  private readonly pending = new Map<string, Destination[]>();
  private readonly taken = new Set<string>();
  /** Every tensor this store allocated (the model's weights); freed by dispose(). */
  private readonly owned: (Tensor | QuantTensor)[] = [];
  /** The one host buffer every chunk is read into (and uploaded from): no allocation, no copy a chunk. */
  private staging = new Uint32Array(0);
  private inFlight = 0;

  constructor(readonly gpu: Gpu, readonly checkpoint: Checkpoint, opts: WeightStoreOptions = {}) {
    this.dtype = opts.dtype ?? 'f32';
    this.layout = { ...defaultLayout(this.dtype), ...opts.layout, compute: this.dtype };
    this.stored = storedQuantOf(checkpoint.metadata, checkpoint.source);
    if (this.dtype === 'f16' && !gpu.hasF16) throw new DTypeError('f16 weights need the shader-f16 feature, which this adapter lacks');
    checkLayoutFeatures(this.layout, gpu.hasF16);
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.maxBindingBytes = Math.min(opts.maxBindingBytes ?? Infinity, gpu.limits.maxStorageBufferBindingSize);
  }

  has(name: string): boolean {
    return this.checkpoint.entries.has(name);
  }

  /** Shape of a checkpoint tensor, or undefined. */
  shapeOf(name: string): number[] | undefined {
    return this.checkpoint.entries.get(name)?.shape;
  }

  /** A whole tensor; `expected` is checked against the checkpoint header. */
  take(name: string, expected: Shape): Tensor {
    const rows = this.check(name, expected);
    return this.allocate(name, expected, 0, rows, this.dtype);
  }

  /** Rows [start, end) of a 2-D (or higher) checkpoint tensor of shape `expected`, as its own tensor. */
  takeRows(name: string, expected: Shape, start: number, end: number): Tensor {
    const rows = this.check(name, expected);
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= rows)) {
      throw new WeightError(`${name}: row range [${start}, ${end}) is outside its ${rows} rows`);
    }
    return this.allocate(name, [end - start, ...expected.slice(1)], start, end, this.dtype);
  }

  /** A matrix that may exceed one binding: a Tensor when it fits, else a SplitWeight of row chunks. */
  takeWeight(name: string, expected: Shape): Weight {
    if (this.stored && !this.has(name) && this.has(name + QCODES)) return this.takeStoredQuant(name, expected);
    const rows = this.check(name, expected);
    const rowElems = numel(expected.slice(1));
    const storage = storageOf(name, expected, this.layout);
    if (storage.kind === 'quant') return this.takeQuant(name, [rows, rowElems], storage);
    const dtype = storage.dtype;
    const rowBytes = rowElems * BYTES_PER_ELEMENT[dtype];
    if (rows * rowBytes <= this.maxBindingBytes) return this.allocate(name, expected, 0, rows, dtype);
    // Even row counts keep every part's start on a 4-byte boundary for 2-byte sources.
    let perPart = Math.floor(this.maxBindingBytes / rowBytes);
    if (perPart > 1) perPart -= perPart % 2;
    if (perPart < 1) throw new LimitError(`${name}: one row of ${rowBytes} B exceeds maxStorageBufferBindingSize ${this.maxBindingBytes}`);
    const parts: Tensor[] = [];
    for (let r = 0; r < rows; r += perPart) parts.push(this.allocate(name, [Math.min(perPart, rows - r), ...expected.slice(1)], r, Math.min(rows, r + perPart), dtype, `${name}[${r}:]`));
    return new SplitWeight(parts, [rows, rowElems], name);
  }

  /**
   * A weight the checkpoint stores quantized (nn/quantized_checkpoint): codes and group words are
   * copied as they are, never re-quantized. Both tensors must be there with the shapes the
   * config implies.
   */
  private takeStoredQuant(name: string, expected: Shape): Weight {
    const { format, group } = this.stored!;
    const [N, K] = [expected[0]!, numel(expected.slice(1))];
    const codes = this.checkpoint.entries.get(name + QCODES)!, groups = this.checkpoint.entries.get(name + QGROUPS);
    if (groups === undefined) throw new WeightError(`${this.checkpoint.source}: quantized ${name} has codes (${name}${QCODES}) but no scale tensor ${name}${QGROUPS}`);
    const want = storedQuantShapes(format, group, N, K);
    for (const [e, w, n] of [[codes, want.codes, QCODES], [groups, want.groups, QGROUPS]] as const) {
      if (e.dtype !== w.dtype || e.shape.length !== w.shape.length || e.shape.some((d, i) => d !== w.shape[i])) {
        throw new WeightError(`${name}${n}: ${e.dtype} ${shapeStr(e.shape)} in the checkpoint; a ${format} [${N}, ${K}] weight in groups of ${group} needs ${w.dtype} ${shapeStr(w.shape)}`);
      }
    }
    this.taken.add(name + QCODES).add(name + QGROUPS);
    return this.takeQuant(name, [N, K], { kind: 'quant', format, group }, true);
  }

  /** A quantized [N, K] weight: one QuantTensor, or row chunks whose codes each fit one binding. */
  private takeQuant(name: string, [N, K]: [number, number], s: Extract<Storage, { kind: 'quant' }>, stored = false): Weight {
    const rowBytes = (K / codesPerWord(s.format)) * 4;
    const perPart = Math.floor(this.maxBindingBytes / rowBytes);
    if (perPart < 1) throw new LimitError(`${name}: one row of ${rowBytes} B of ${s.format} codes exceeds maxStorageBufferBindingSize ${this.maxBindingBytes}`);
    const parts: WeightPart[] = [];
    for (let r = 0; r < N; r += perPart) {
      const n = Math.min(perPart, N - r);
      const q = QuantTensor.empty(this.gpu, [n, K], s.format, s.group, n === N ? name : `${name}[${r}:]`);
      keep(q.codes); keep(q.groups);
      this.owned.push(q);
      if (stored) {
        // Raw copies: byte ranges of the codes (U8) and half ranges of the groups (F16 pairs).
        const cb = K / codesPerWord(s.format) * 4, gh = (K / s.group) * 2;
        this.destinations(name + QCODES).push({ target: q.codes, start: r * cb, end: (r + n) * cb });
        this.destinations(name + QGROUPS).push({ target: q.groups, start: r * gh, end: (r + n) * gh });
      } else {
        this.destinations(name).push({ target: q, start: r * K, end: (r + n) * K });
      }
      parts.push(q);
    }
    return parts.length === 1 ? parts[0]! : new SplitWeight(parts, [N, K], name);
  }

  /** Streams every taken tensor to the GPU. Call once, after the model is built. */
  async load(onProgress?: (name: string) => void): Promise<void> {
    for (const [name, dests] of this.pending) {
      await this.stream(name, dests);
      onProgress?.(name);
    }
    this.pending.clear();
    await this.gpu.sync();
  }

  /** Checkpoint tensors nobody took, excluding the known unused ones. */
  unused(): string[] {
    return [...this.checkpoint.entries.keys()].filter((n) => !this.taken.has(n) && !UNUSED_BY_DESIGN.some((p) => p.test(n)));
  }

  /** The present-but-unused-by-design tensors (never loaded). */
  unusedByDesign(): string[] {
    return [...this.checkpoint.entries.keys()].filter((n) => UNUSED_BY_DESIGN.some((p) => p.test(n)));
  }

  get bytes(): number {
    return this.owned.reduce((s, t) => s + (t.disposed ? 0 : t.byteSize), 0);
  }

  dispose(): void {
    for (const t of this.owned) if (!t.disposed) t.dispose();
    this.owned.length = 0;
  }

  private check(name: string, expected: Shape): number {
    if (UNUSED_BY_DESIGN.some((p) => p.test(name))) throw new WeightError(`${name} is unused by design and must not be loaded`);
    const e = this.checkpoint.entries.get(name);
    if (e === undefined) throw new WeightError(`missing weight ${name} (expected shape ${shapeStr(expected)}) in ${this.checkpoint.source}`);
    if (e.shape.length !== expected.length || e.shape.some((d, i) => d !== expected[i])) {
      throw new WeightError(`${name}: checkpoint shape ${shapeStr(e.shape)}, model expects ${shapeStr(expected)}`);
    }
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') {
      throw new WeightError(`${name}: dtype ${e.dtype} is not a float weight type (F32, F16, BF16)`);
    }
    this.taken.add(name);
    return expected[0] ?? 1;
  }

  private allocate(name: string, shape: Shape, rowStart: number, rowEnd: number, dtype: ComputeDType, label = name): Tensor {
    const full = this.checkpoint.entries.get(name)!.shape;
    const rowElems = numel(full.slice(1));
    const t = keep(Tensor.empty(this.gpu, shape, dtype, label, { exact: true }));
    this.owned.push(t);
    this.destinations(name).push({ target: t, start: rowStart * rowElems, end: rowEnd * rowElems });
    return t;
  }

  private destinations(name: string): Destination[] {
    let list = this.pending.get(name);
    if (!list) this.pending.set(name, (list = []));
    return list;
  }

  private async stream(name: string, dests: Destination[]): Promise<void> {
    const e = this.checkpoint.entries.get(name)!;
    const srcBytes = DTYPE_SIZE[e.dtype];
    const quant = dests.filter((d): d is Destination & { target: QuantTensor } => d.target instanceof QuantTensor);
    const plain = dests.filter((d): d is Destination & { target: Tensor } => d.target instanceof Tensor);
    // Chunks of whole groups when quantizing (every destination starts on a row, K % group = 0).
    const align = Math.max(1, ...quant.map((d) => d.target.group)) * srcBytes;
    const chunk = Math.max(align, this.chunkBytes - (this.chunkBytes % align));
    const words = Math.ceil(chunk / 4);
    if (this.staging.length < words) this.staging = new Uint32Array(words);
    for await (const { offset, bytes } of this.checkpoint.readChunks(name, new Uint8Array(this.staging.buffer, 0, chunk))) {
      const c0 = offset / srcBytes;
      const c1 = c0 + bytes.byteLength / srcBytes;
      if ((this.inFlight += bytes.byteLength) > MAX_IN_FLIGHT_BYTES) { this.inFlight = 0; await this.gpu.sync(); }
      if (quant.length > 0) this.quantizeChunk(name, e.dtype, bytes, c0, c1, quant);
      for (const dtype of new Set(plain.map((d) => d.target.dtype))) {
        const mine = plain.filter((d) => d.target.dtype === dtype);
        // u32 targets are stored quantized codes and groups: their bytes are copied as they are.
        if ((e.dtype === 'F32' && dtype === 'f32') || (e.dtype === 'F16' && dtype === 'f16') || dtype === 'u32') {
          for (const d of mine) {
            const a = Math.max(c0, d.start), b = Math.min(c1, d.end);
            if (a >= b) continue;
            d.target.write((a - d.start) * srcBytes, bytes.subarray((a - c0) * srcBytes, (b - c0) * srcBytes));
          }
          continue;
        }
        // Widen or narrow this chunk once on the GPU, then copy the pieces each destination needs.
        scope(() => {
          const converted = this.convertChunk(name, e.dtype, bytes, c1 - c0, dtype as ComputeDType);
          for (const d of mine) {
            const a = Math.max(c0, d.start), b = Math.min(c1, d.end);
            if (a >= b) continue;
            const flat = d.target.reshape([d.target.size], d.target.name);
            copyRows(flat, a - d.start, converted, a - c0, b - a);
          }
        });
      }
    }
  }

  /** The chunk just read (into staging) as u32 words; a trailing partial word holds stale bytes, never read. */
  private wordsOf(bytes: Uint8Array): Uint32Array {
    return this.staging.subarray(0, Math.ceil(bytes.byteLength / 4));
  }

  /** Source elements [c0, c1) uploaded as raw words and quantized on the GPU into each overlapping QuantTensor. */
  private quantizeChunk(name: string, src: string, bytes: Uint8Array, c0: number, c1: number, dests: (Destination & { target: QuantTensor })[]): void {
    scope(() => {
      const words = this.wordsOf(bytes);
      const raw = Tensor.fromArray(this.gpu, words, [words.length], 'u32', `${name}:raw`);
      for (const d of dests) {
        const a = Math.max(c0, d.start), b = Math.min(c1, d.end);
        if (a < b) quantizeInto(raw, src as RawDType, a - c0, b - a, d.target, a - d.start);
      }
    });
  }

  /** A chunk of n source elements -> a flat [n] tensor in `dtype`. */
  private convertChunk(name: string, src: string, bytes: Uint8Array, n: number, dtype: ComputeDType): Tensor {
    if (src === 'BF16') {
      const words = this.wordsOf(bytes);
      const raw = Tensor.fromArray(this.gpu, words, [words.length], 'u32', `${name}:bf16`);
      return dtype === 'f32' ? bf16ToF32(raw, [n]) : bf16ToF16(raw, [n]);
    }
    const dt = src === 'F32' ? 'f32' : 'f16';
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const staged = Tensor.fromArray(this.gpu, copy, [n], dt, `${name}:${src}`);
    return convert(staged, dtype);
  }
}
