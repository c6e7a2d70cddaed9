// Benchmark (not a test): streams a multi-GB synthetic safetensors file through readChunks into a
// checksum sink, or with a GPU into GPU tensors (chunk by chunk through Tensor.write, each tensor
// released after it is loaded, as a model streams shards), reporting throughput and peak RSS. RSS
// must stay near baseline + one chunk: the reader holds one buffer, never a tensor. (On a software
// adapter such as lavapipe GPU memory is process memory, so the GPU sink adds one tensor.) The file is freshly written, so reads come from the page
// cache unless the machine is short of memory: this measures the reader, not the disk.
//
//   node dist/src/bench/safetensors_load.js [--gigabytes 2] [--chunk-mib 16] [--dir /tmp]

import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SafetensorsFile } from '../core/safetensors.js';
import { HttpSource } from '../core/http_source.js';
import { serve } from '../cli/serve.js';
import type { Gpu } from '../core/device.js';
import { Tensor } from '../core/tensor.js';

const MiB = 1024 * 1024;
const TENSOR_BYTES = 64 * MiB;

export interface SafetensorsLoadResult { gbPerS: number; peakRssMiB: number; baselineRssMiB: number; sink: 'checksum' | 'gpu'; via: 'file' | 'http' }

/** Writes `count` F32 tensors of TENSOR_BYTES each, in 16 MiB streamed writes. */
async function writeSynthetic(path: string, count: number): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (let i = 0; i < count; i++) {
    header[`t.${i}`] = { dtype: 'F32', shape: [TENSOR_BYTES / 4], data_offsets: [i * TENSOR_BYTES, (i + 1) * TENSOR_BYTES] };
  }
  const json = Buffer.from(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  const block = new Uint32Array(16 * MiB / 4).map((_, i) => Math.imul(i, 2654435761) >>> 0); // not all zeros
  const fh = await open(path, 'w');
  try {
    await fh.write(head);
    for (let left = count * TENSOR_BYTES; left > 0; left -= block.byteLength) {
      await fh.write(new Uint8Array(block.buffer, 0, Math.min(left, block.byteLength)));
    }
  } finally {
    await fh.close();
  }
}

/**
 * `via: 'http'` reads the same file through `llava-st serve` on loopback with HTTP Range requests
 * (HttpSource, what a page does), one request a chunk.
 */
export async function benchSafetensorsLoad(opts: { gigabytes: number; chunkMiB: number; dir?: string; gpu?: Gpu; via?: 'file' | 'http' }): Promise<SafetensorsLoadResult> {
  const dir = await mkdtemp(join(opts.dir ?? tmpdir(), 'st-bench-'));
  const path = join(dir, 'model.safetensors');
  try {
    const count = Math.max(1, Math.round((opts.gigabytes * 1e9) / TENSOR_BYTES));
    await writeSynthetic(path, count);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
    const timer = setInterval(sample, 5);
    const server = opts.via === 'http' ? await serve({ model: dir, port: 0, host: '127.0.0.1', webRoot: dir }) : undefined;
    const f = server ? await SafetensorsFile.openFrom(new HttpSource(`${server.url}model/`), 'model.safetensors', true) : await SafetensorsFile.open(path);
    let checksum = 0;
    let bytes = 0;
    const buffer = new Uint8Array(opts.chunkMiB * MiB); // one buffer for the whole load
    const t0 = performance.now();
    try {
      for (const [name, entry] of f.entries) {
        const target = opts.gpu ? Tensor.empty(opts.gpu, entry.shape, 'f32', name) : undefined;
        for await (const chunk of f.readChunks(name, buffer)) {
          if (target) {
            target.write(chunk.offset, chunk.bytes); // writeBuffer copies: the buffer is free again
          } else {
            const words = new Int32Array(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.length >> 2);
            for (let i = 0; i < words.length; i++) checksum ^= words[i]!;
          }
          bytes += chunk.bytes.length;
          sample();
        }
        if (target && opts.gpu) {
          await opts.gpu.sync(); // the tensor is on the GPU before it is released
          target.dispose();
        }
      }
    } finally {
      clearInterval(timer);
      await f.close();
      await server?.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (bytes !== count * TENSOR_BYTES) throw new RangeError(`read ${bytes} bytes, expected ${count * TENSOR_BYTES}`);
    void checksum;
    return { gbPerS: bytes / 1e9 / seconds, peakRssMiB: peak / MiB, baselineRssMiB: baseline / MiB, sink: opts.gpu ? 'gpu' : 'checksum', via: opts.via ?? 'file' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { gigabytes: { type: 'string', default: '2' }, 'chunk-mib': { type: 'string', default: '16' }, dir: { type: 'string' } } });
  const r = await benchSafetensorsLoad({
    gigabytes: Number(values.gigabytes), chunkMiB: Number(values['chunk-mib']), ...(values.dir !== undefined ? { dir: values.dir } : {}),
  });
  console.log(`safetensors load: ${r.gbPerS.toFixed(2)} GB/s, RSS baseline ${r.baselineRssMiB.toFixed(0)} MiB, peak ${r.peakRssMiB.toFixed(0)} MiB`);
}
