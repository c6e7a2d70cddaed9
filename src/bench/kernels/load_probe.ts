// Microbenchmark of load instructions (src/wgsl/load_probe.wgsl): how much a vec4 load costs by
// address pattern (per-lane or workgroup-uniform) and address space (storage or uniform buffer).
// On lavapipe a workgroup is one CPU thread's SIMD lanes, and the question behind it is whether
// per-lane loads (each a scalarized gather, ~5 cycles) cap the GEMMs, and which loads escape that.
// The figure is GB/s delivered to the lanes (16 B per lane per load) from a 64 KiB working set:
// load throughput, not memory bandwidth, so it may exceed the copy ceiling it is printed against.
// Every case first checks its sum against the host's.
import type { Gpu } from '../../core/device.js';
import { Tensor } from '../../core/tensor.js';
import { readBack, type BenchCase, type PreparedCase } from '../case.js';

const VEC4S = 4096, INVOCATIONS = 8192, ITERS = 1024, WG = 64;

type Probe = 'storage_lane' | 'storage_uniform' | 'ubo_uniform' | 'ubo_lane' | 'broadcast';

function probe(entry: Probe): BenchCase {
  return {
    name: `loads.${entry}`,
    shape: `${INVOCATIONS} lanes × ${ITERS * 4} vec4 loads, wg ${WG}`,
    bytes: INVOCATIONS * ITERS * 4 * 16,
    bound: 'memory',
    prepare(gpu: Gpu): PreparedCase {
      const host = Float32Array.from({ length: VEC4S * 4 }, (_, i) => (i % 7) - 3);
      const x = Tensor.fromArray(gpu, host, [VEC4S * 4], 'f32', 'x');
      // A uniform buffer needs UNIFORM usage, which the tensor pool's buffers do not have.
      const u = gpu.device.createBuffer({ size: VEC4S * 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'load_probe.u' });
      gpu.device.queue.writeBuffer(u, 0, host);
      if (entry === 'broadcast' && !gpu.hasSubgroups) throw new Error('needs the subgroups feature');
      const sub = gpu.hasSubgroups;
      const entryPoint = entry === 'broadcast' ? entry : entry.endsWith('_lane') ? 'per_lane' : 'same_address';
      const defines = { BCAST: sub ? 'subgroupBroadcast' : 'bcast_none', SRC: entry.startsWith('ubo') ? 'u' : 'x' };
      const kernel = gpu.kernels.get({ source: 'load_probe', entryPoint, defines, constants: { WG }, ...(sub ? { enables: ['subgroups'] } : {}) });
      const run = () => {
        const y = Tensor.empty(gpu, [INVOCATIONS * 4], 'f32', 'y');
        kernel.dispatch([x.binding(), y.binding(), { buffer: u, size: VEC4S * 16, label: 'u' }], INVOCATIONS / WG, new Uint32Array([ITERS, 0, 0, 0]));
        return y;
      };
      return {
        run,
        async check() {
          const got = await readBack(run);
          // Lane l's sum: component c of every vec4 it loads; the host replays the addresses.
          for (const l of [0, 1, WG - 1, INVOCATIONS - 1]) {
            const lid = l % WG;
            const want = [0, 0, 0, 0];
            for (let k = 0; k < ITERS; k++) {
              for (let j = 0; j < 4; j++) {
                // broadcast: step k/2 delivers lane (k % 2)·4 + j's vec4 of that step's 8.
                const b = entry === 'broadcast' ? ((k >> 1) * 8 + (k % 2) * 4 + j) & (VEC4S - 1)
                  : entry.endsWith('_lane') ? (k * 4 * WG + lid + j * WG) & (VEC4S - 1) : (k * 4 + j) & (VEC4S - 1);
                for (let c = 0; c < 4; c++) want[c]! += host[b * 4 + c]!;
              }
            }
            for (let c = 0; c < 4; c++) if (got[l * 4 + c] !== want[c]) return `lane ${l} component ${c}: ${got[l * 4 + c]}, want ${want[c]}`;
          }
          return undefined;
        },
        dispose() { x.dispose(); u.destroy(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  return [probe('storage_lane'), probe('storage_uniform'), probe('ubo_uniform'), probe('ubo_lane'), probe('broadcast')];
}
