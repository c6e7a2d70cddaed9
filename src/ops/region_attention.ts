// Point-to-region attention of the Spatial-Temporal Packer (architecture.md §6.1): query n attends
// only to its own R region keys (R = 9 spatial 3×3, or 5 temporal), never a full attention.
//   q [Nq, E]; k, v [Nk, E]; index u32 [Nq, R] (row of k/v for region slot r of query n);
//   heads H (E = H·d); softmax(q_h·k_hᵀ · scale) over the R keys -> [Nq, E]
// Kernel: wgsl/region_attention.wgsl, one invocation per (query, head). Indices must be < Nk
// (the kernel clamps larger ones to Nk − 1 for memory safety instead of checking on the CPU).
import { DTypeError, LimitError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { vecDefines, vecSpec } from './vector.js';

const WG = 64;
const MAX_R = 64;

/** Locality of the regions, needed only when k or v exceed the device's storage binding size (the
 *  100-frame packer: 72900 × 1024 keys): queries [g·queries, (g+1)·queries) index only keys
 *  [g·keys, (g+1)·keys) (spatial: 81 queries over one frame's 729 keys; temporal: the 81·5 keys of
 *  5 frames per 81 queries when laid out frame-major). The op then runs one dispatch per batch of
 *  groups whose keys fit in one binding. */
export interface KeyGroup { queries: number; keys: number }

/** scale defaults to 1/sqrt(d), d = E / heads. */
export function regionAttention(q: Tensor, k: Tensor, v: Tensor, index: Tensor, heads: number, scale?: number, keyGroup?: KeyGroup): Tensor {
  const shapes = `q ${q.name} ${shapeStr(q.shape)}, k ${k.name} ${shapeStr(k.shape)}, v ${v.name} ${shapeStr(v.shape)}, index ${index.name} ${shapeStr(index.shape)}`;
  if (q.rank !== 2 || k.rank !== 2 || v.rank !== 2 || index.rank !== 2) throw new ShapeError(`regionAttention: need q [Nq, E], k, v [Nk, E], index [Nq, R]; got ${shapes}`);
  const [Nq, E] = q.shape as [number, number];
  const [Nk, R] = [k.shape[0]!, index.shape[1]!];
  if (k.shape[1] !== E || v.shape[0] !== Nk || v.shape[1] !== E || index.shape[0] !== Nq) throw new ShapeError(`regionAttention: shapes disagree: ${shapes}`);
  if (!Number.isInteger(heads) || heads < 1 || E % heads !== 0) throw new ShapeError(`regionAttention: E = ${E} is not divisible into ${heads} heads (${shapes})`);
  if (R < 1 || R > MAX_R || Nk < 1) throw new ShapeError(`regionAttention: need 1..${MAX_R} region keys and Nk >= 1 (${shapes})`);
  if (index.dtype !== 'u32') throw new DTypeError(`regionAttention: index ${index.name} is ${index.dtype} (u32 needed)`);
  for (const t of [q, k, v]) {
    if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new DTypeError(`regionAttention: ${t.name} is ${t.dtype} (f32 or f16 needed)`);
    if (t.dtype !== q.dtype) throw new DTypeError(`regionAttention: ${t.name} is ${t.dtype} but ${q.name} is ${q.dtype}`);
  }
  const d = E / heads;
  const y = Tensor.empty(q.gpu, [Nq, E], q.dtype, 'regionAttention');
  if (y.size === 0) return y;
  const vs = vecSpec(q.dtype as 'f32' | 'f16', d);
  const { defines, enables } = vecDefines(vs, { nv: true });
  const rowBytes = E * (q.dtype === 'f32' ? 4 : 2);
  const maxBinding = q.gpu.limits.maxStorageBufferBindingSize;
  // Dispatches: [first query, queries, first key row, key rows]; one unless k, v exceed a binding.
  const parts: [number, number, number, number][] = [];
  if (Nk * rowBytes <= maxBinding) {
    parts.push([0, Nq, 0, Nk]);
  } else {
    if (!keyGroup) throw new LimitError(`regionAttention: k ${k.name} ${shapeStr(k.shape)} ${k.dtype} is over maxStorageBufferBindingSize ${maxBinding} B; pass keyGroup (which keys each query group uses) so it can be split`);
    const { queries: Qg, keys: Kg } = keyGroup;
    const per = Math.floor(maxBinding / (Kg * rowBytes));
    const align = q.gpu.limits.minStorageBufferOffsetAlignment;
    if (per < 1 || (Kg * rowBytes) % align !== 0 || Qg * Math.ceil(Nk / Kg) < Nq) {
      throw new LimitError(`regionAttention: keyGroup ${JSON.stringify(keyGroup)} cannot split ${shapes} (a group's keys must fit one binding of ${maxBinding} B, start ${align}-byte aligned, and the groups cover every query)`);
    }
    for (let g0 = 0; g0 * Qg < Nq; g0 += per) {
      const k0 = g0 * Kg;
      parts.push([g0 * Qg, Math.min(per * Qg, Nq - g0 * Qg), k0, Math.min(per * Kg, Nk - k0)]);
    }
  }
  const kernel = q.gpu.kernels.get({ source: 'region_attention', defines: { ...defines, R }, constants: { WG }, ...(enables ? { enables } : {}) });
  for (const [q0, nq, k0, nk] of parts) {
    const total = nq * heads;
    const params = new ArrayBuffer(32);
    new Uint32Array(params).set([total, heads, E / (d / vs.NV), nk, 0, vs.NV, q0, k0]);
    new Float32Array(params)[4] = (scale ?? 1 / Math.sqrt(d)) * Math.LOG2E;
    const window = (t: Tensor) => ({ ...t.binding(), offset: k0 * rowBytes, size: nk * rowBytes });
    kernel.dispatch([q.binding(), window(k), window(v), index.binding(), y.binding()], Math.ceil(total / WG), new Uint8Array(params));
  }
  return y;
}
