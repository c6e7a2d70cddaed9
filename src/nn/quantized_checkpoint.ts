// A quantized checkpoint: a safetensors file that stores q8/q4 weights as they are on the GPU, so
// that loading it copies bytes instead of quantizing again (`llava-st quantize` writes one).
//
// Layout (documented in the README):
//   __metadata__: { "llava_st.weights": "q8" | "q4", "llava_st.group": "32", "format": "pt" }
//   X.weight.qcodes   U8  [N, K·bits/8]   the u32 code words of core/quant, little-endian bytes
//   X.weight.qgroups  F16 [N, K/G, 2]     (scale, offset) of each group: w = code·scale + offset
//   every other tensor under its own name, F32 or F16, as nn/weight_format stores it (embed_tokens
//   f16; norms, biases and coordinate tables in the compute dtype; rows the groups do not tile f16)
import type { Gpu } from '../core/device.js';
import { Checkpoint } from '../core/checkpoint.js';
import { SafetensorsError, ShapeError, WeightError } from '../core/errors.js';
import { QUANT_FORMATS, QUANT_BITS, type QuantFormat } from '../core/quant.js';
import type { SafetensorsDType } from '../core/safetensors.js';
import { Tensor, numel } from '../core/tensor.js';
import { SplitWeight } from '../ops/linear.js';
import { QuantTensor } from '../ops/quant_linear.js';
import { storageOf, type WeightLayout } from './weight_format.js';
import { UNUSED_BY_DESIGN, WeightStore } from './weights.js';

export const QCODES = '.qcodes';
export const QGROUPS = '.qgroups';
export const META_WEIGHTS = 'llava_st.weights';
export const META_GROUP = 'llava_st.group';

export interface StoredQuant { format: QuantFormat; group: number }

/** The quantization a checkpoint's metadata declares, or undefined for an ordinary checkpoint. */
export function storedQuantOf(metadata: Record<string, unknown>, source: string): StoredQuant | undefined {
  const f = metadata[META_WEIGHTS];
  if (f === undefined) return undefined;
  const g = Number(metadata[META_GROUP]);
  if (!(QUANT_FORMATS as readonly unknown[]).includes(f) || !Number.isSafeInteger(g) || g <= 0) {
    throw new SafetensorsError(source, undefined, `metadata ${META_WEIGHTS}=${JSON.stringify(f)}, ${META_GROUP}=${JSON.stringify(metadata[META_GROUP])}: expected q8|q4 and a group size`);
  }
  return { format: f as QuantFormat, group: g };
}

/** Header dtype and shape of the two tensors of a stored quantized [N, K] weight. */
export function storedQuantShapes(format: QuantFormat, group: number, N: number, K: number): { codes: { dtype: SafetensorsDType; shape: number[] }; groups: { dtype: SafetensorsDType; shape: number[] } } {
  if (K % group !== 0) throw new ShapeError(`row length ${K} is not divisible by the group size ${group}`);
  return { codes: { dtype: 'U8', shape: [N, (K * QUANT_BITS[format]) / 8] }, groups: { dtype: 'F16', shape: [N, K / group, 2] } };
}

/**
 * name -> shape and dtype as the model sees them: a stored quantized weight's .qcodes/.qgroups pair
 * is one [N, K] weight (dtype Q8/Q4). A pair missing its scale tensor is a typed error.
 */
export function logicalTensors(ckpt: Checkpoint): Map<string, { shape: number[]; dtype: string }> {
  const stored = storedQuantOf(ckpt.metadata, ckpt.source);
  const out = new Map<string, { shape: number[]; dtype: string }>();
  for (const [n, e] of ckpt.entries) {
    if (stored && n.endsWith(QGROUPS)) continue;
    if (stored && n.endsWith(QCODES)) {
      const base = n.slice(0, -QCODES.length);
      if (!ckpt.entries.has(base + QGROUPS)) throw new WeightError(`${ckpt.source}: quantized ${base} has codes (${n}) but no scale tensor ${base}${QGROUPS}`);
      out.set(base, { shape: [e.shape[0]!, (e.shape[1]! * 8) / QUANT_BITS[stored.format]], dtype: stored.format.toUpperCase() });
      continue;
    }
    out.set(n, { shape: [...e.shape], dtype: e.dtype });
  }
  return out;
}

interface OutTensor { name: string; dtype: SafetensorsDType; shape: number[]; bytes: number; from: string; part: 'codes' | 'groups' | 'plain' }

/**
 * Quantizes the checkpoint in `srcDir` tensor by tensor on the GPU and writes `outDir`/model.safetensors
 * (plus the config and tokenizer files): at most one tensor is on the GPU or in memory at a time.
 */
export async function writeQuantizedCheckpoint(gpu: Gpu, srcDir: string, outDir: string, layout: WeightLayout & { format: QuantFormat },
  onProgress?: (done: number, total: number) => void): Promise<{ bytes: number; tensors: number }> {
  // Node only: imported here so that the readers above (used by every load, pages too) stay free of node:fs.
  const { closeSync, copyFileSync, openSync, readdirSync, writeSync } = await import('node:fs');
  const { join } = await import('node:path');
  const ckpt = await Checkpoint.open(srcDir);
  try {
    const out: OutTensor[] = [];
    for (const [name, e] of ckpt.entries) {
      if (UNUSED_BY_DESIGN.some((p) => p.test(name))) continue;
      const s = storageOf(name, e.shape, layout);
      if (s.kind === 'quant') {
        const N = e.shape[0]!, K = numel(e.shape.slice(1));
        const q = storedQuantShapes(s.format, s.group, N, K);
        out.push({ name: name + QCODES, ...q.codes, bytes: numel(q.codes.shape), from: name, part: 'codes' });
        out.push({ name: name + QGROUPS, ...q.groups, bytes: numel(q.groups.shape) * 2, from: name, part: 'groups' });
      } else {
        out.push({ name, dtype: s.dtype === 'f32' ? 'F32' : 'F16', shape: [...e.shape], bytes: numel(e.shape) * (s.dtype === 'f32' ? 4 : 2), from: name, part: 'plain' });
      }
    }
    const header: Record<string, unknown> = { __metadata__: { format: 'pt', [META_WEIGHTS]: layout.format, [META_GROUP]: String(layout.group) } };
    let pos = 0;
    for (const t of out) { header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.bytes] }; pos += t.bytes; }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    for (const f of readdirSync(srcDir)) if (/\.(json|txt)$/.test(f) && !f.startsWith('model.safetensors')) copyFileSync(join(srcDir, f), join(outDir, f));
    const fd = openSync(join(outDir, 'model.safetensors'), 'w');
    try {
      const len = new Uint8Array(8);
      new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
      writeSync(fd, len);
      writeSync(fd, new TextEncoder().encode(json));
      const names = [...new Set(out.map((t) => t.from))];
      for (const [i, name] of names.entries()) {
        // One tensor at a time: taken, streamed (quantized on the GPU), read back, written, freed.
        const store = new WeightStore(gpu, ckpt, { dtype: layout.compute, layout });
        try {
          const shape = ckpt.entries.get(name)!.shape;
          const w = shape.length === 2 ? store.takeWeight(name, shape) : store.take(name, shape);
          await store.load();
          const parts = w instanceof SplitWeight ? w.parts : [w];
          const mine = out.filter((t) => t.from === name);
          for (const t of mine) {
            for (const p of parts) {
              const src = t.part === 'plain' ? (p as Tensor) : t.part === 'codes' ? (p as QuantTensor).codes : (p as QuantTensor).groups;
              const data = await src.read();
              writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, src.byteSize));
            }
          }
        } finally {
          store.dispose();
        }
        onProgress?.(i + 1, names.length);
      }
    } finally {
      closeSync(fd);
    }
    return { bytes: pos, tensors: out.length };
  } finally {
    await ckpt.close();
  }
}
