// Microbenchmark of one row-kernel pass by the operation applied to each unit (src/wgsl/row_probe.wgsl):
// the experiment behind the row kernels' design on lavapipe (README, row kernels). The read pass
// (rows.row_sum) runs at about the read ceiling; a pass whose share falls below it is paying for its
// operation, not its loads: builtin max against compare-and-select, exp2 against exp2_poly,
// pack2x16float against f16_bits. bytes = the rows read (and, for the stores, written) once.
// Every case first checks its output against the host's.
import type { Gpu } from '../../core/device.js';
import { Tensor } from '../../core/tensor.js';
import { toF16, fromF16 } from '../../core/dtype.js';
import type { BenchCase, PreparedCase } from '../case.js';

const R = 4096, C = 2048, UNITS = C / 4, WG = 64, SCALE = 0.37;

// name: [entry, defines]
const PROBES: Record<string, [string, Record<string, string>]> = {
  row_sum: ['reduce', { INIT: '0.0', STEP: 'acc + v', TOTAL: 'total' }],
  row_max: ['reduce', { INIT: '-65504.0', STEP: 'max(acc, v)', TOTAL: 'top' }],
  row_select_max: ['reduce', { INIT: '-65504.0', STEP: 'select(acc, v, v > acc)', TOTAL: 'top' }],
  row_exp2: ['reduce', { INIT: '0.0', STEP: 'acc + exp2(v)', TOTAL: 'total' }],
  row_exp2_poly: ['reduce', { INIT: '0.0', STEP: 'acc + exp2_poly(v)', TOTAL: 'total' }],
  copy: ['store', { STORE: 'u' }],
  store_pack: ['store', { STORE: 'vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw))' }],
  store_f16_bits: ['store', { STORE: 'pack_f16x4(v)' }],
  // With shader-f16: the conversions the f16 type does (a bitcast and a vector conversion).
  row_sum_cast: ['reduce', { STEP: 'acc + v', LOAD: 'ld_cast' }],
  store_cast: ['store', { STORE: 'st_cast(v)', LOAD: 'ld_cast' }],
};
// Every placeholder of row_probe.wgsl (one source, so each entry point's spec fills them all).
const DEFINES: Record<string, string | number> = { INIT: '0.0', STEP: 'acc', TOTAL: 'total', STORE: 'u', LOAD: 'ld', READS: 0, WEIGHTS: '', F16_CASTS: '' };
const F16_CASTS = `fn ld_cast(a: vec2<u32>) -> vec4<f32> { return vec4<f32>(bitcast<vec4<f16>>(a)); }
fn st_cast(v: vec4<f32>) -> vec2<u32> { return bitcast<vec2<u32>>(vec4<f16>(v)); }`;
type Entry = keyof typeof PROBES;

function probe(entry: Entry): BenchCase {
  const [entryPoint, defines] = PROBES[entry]!;
  const stores = entryPoint === 'store';
  return {
    name: `rows.${entry}`,
    shape: `${R}×${C} f16, a row an invocation`,
    bytes: R * C * 2 * (stores ? 2 : 1),
    bound: 'memory',
    prepare(gpu: Gpu): PreparedCase {
      const host = fromF16(toF16(Float32Array.from({ length: R * C }, (_, i) => ((i * 7919) % 2003) / 250 - 4)));
      const x = Tensor.fromArray(gpu, toF16(host), [R, C], 'f16', 'x');
      const cast = defines.LOAD === 'ld_cast';
      if (cast && !gpu.hasF16) throw new Error('needs shader-f16');
      const kernel = gpu.kernels.get({
        source: 'row_probe', entryPoint, constants: { WG }, ...(cast ? { enables: ['f16'] } : {}),
        defines: { ...DEFINES, F16_CASTS: cast ? F16_CASTS : '', ...defines },
      });
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 2).set([R, UNITS]);
      new Float32Array(params, 8, 1)[0] = SCALE;
      const run = () => {
        const y = Tensor.empty(gpu, stores ? [R, C] : [R, 2], stores ? 'f16' : 'f32', 'y'); // reductions: [total, 0] a row
        kernel.dispatch([x.binding(), y.binding()], Math.ceil(R / WG), new Uint8Array(params));
        return y;
      };
      return {
        run,
        async check() {
          const y = run();
          const got = await y.read();
          y.dispose();
          if (stores) {
            const want = toF16(entry === 'copy' ? host : host.map((v) => v * SCALE));
            const bits = got as Uint16Array;
            for (let i = 0; i < want.length; i++) if (bits[i] !== want[i]) return `element ${i}: 0x${bits[i]!.toString(16)}, want 0x${want[i]!.toString(16)}`;
            return undefined;
          }
          const totals = got as Float32Array;
          for (const r of [0, 1, R - 1]) {
            const row = host.subarray(r * C, (r + 1) * C);
            const want = entry.endsWith('max') ? Math.max(...row) : row.reduce((s, v) => s + (entry.startsWith('row_exp2') ? 2 ** v : v), 0);
            if (!(Math.abs(totals[r * 2]! - want) <= 1e-4 * Math.abs(want) + 1e-3)) return `row ${r}: ${totals[r * 2]}, want ${want}`;
          }
          return undefined;
        },
        dispose() { x.dispose(); },
      };
    },
  };
}

// The traffic of a row kernel, and nothing else (row_probe.wgsl `traffic`): its share of the read
// ceiling bounds what a kernel with the same loads and stores can reach here.
const TRAFFIC: Record<string, [reads: number, weights: number]> = { softmax: [2, 0], rmsnorm: [1, 1], layernorm: [1, 2] };

/** `traffic` over x [R, C] f16 (C a multiple of 4), `weights` [C] vectors packed one after the
 *  other in w [weights·C]; returns y [R, C]. One row an invocation, as the row.wg64 kernels. */
export function runTraffic(x: Tensor, w: Tensor | undefined, reads: number, weights: number): Tensor {
  const gpu = x.gpu, [rows, cols] = x.shape as [number, number];
  const WEIGHTS = [' ^ w[j]', ' ^ w[p.units + j]'].slice(0, weights).join('');
  const kernel = gpu.kernels.get({ source: 'row_probe', entryPoint: 'traffic', constants: { WG }, defines: { ...DEFINES, READS: reads, WEIGHTS } });
  const y = Tensor.empty(gpu, [rows, cols], 'f16', 'y');
  kernel.dispatch([x.binding(), y.binding(), ...(weights ? [w!.binding()] : [])], Math.ceil(rows / WG), new Uint32Array([rows, cols / 4, 0, 0]));
  return y;
}

function traffic(kind: string): BenchCase {
  const [reads, weights] = TRAFFIC[kind]!;
  return {
    name: `rows.traffic_${kind}`,
    shape: `${R}×${C} f16, a word: ${reads + 1} row loads, ${weights} weight loads, 1 store`,
    bytes: R * C * 2 * 2, // x read once and y written once, as scripts/compare-kernels.mjs counts
    bound: 'memory',
    prepare(gpu: Gpu): PreparedCase {
      const xw = Uint32Array.from({ length: R * C / 2 }, (_, i) => Math.imul(i, 2654435761) >>> 0);
      const ww = Uint32Array.from({ length: Math.max(weights, 1) * C / 2 }, (_, i) => Math.imul(i + 7, 40503) >>> 0);
      const x = Tensor.fromArray(gpu, new Uint16Array(xw.buffer), [R, C], 'f16', 'x');
      const w = Tensor.fromArray(gpu, new Uint16Array(ww.buffer), [Math.max(weights, 1) * C], 'f16', 'w');
      const run = () => runTraffic(x, w, reads, weights);
      return {
        run,
        async check() {
          const y = run();
          const got = new Uint32Array(((await y.read()) as Uint16Array).slice().buffer);
          y.dispose();
          const W = C / 2; // words a row
          for (const r of [0, 1, R - 1]) {
            const row = xw.subarray(r * W, (r + 1) * W);
            let acc = [0, 0];
            for (let k = 0; k < reads; k++) for (let j = 0; j < W; j += 2) acc = [acc[0]! ^ row[j]!, acc[1]! ^ row[j + 1]!];
            for (let j = 0; j < W; j++) {
              let want = row[j]! ^ acc[j & 1]!;
              for (let k = 0; k < weights; k++) want ^= ww[k * W + j]!;
              if (got[r * W + j] !== want >>> 0) return `row ${r} word ${j}: 0x${got[r * W + j]!.toString(16)}, want 0x${(want >>> 0).toString(16)}`;
            }
          }
          return undefined;
        },
        dispose() { x.dispose(); w.dispose(); },
      };
    },
  };
}

export function cases(): BenchCase[] {
  return [...Object.keys(PROBES).map(probe), ...Object.keys(TRAFFIC).map(traffic)];
}
