// How kernels read and write rows of n elements as vectors: the WGSL defines ST, VT, LOAD, STORE,
// DOT, NV shared by attention.wgsl, region_attention.wgsl and softmax.wgsl (documented at the top
// of attention.wgsl). One decision, used by every row-wise kernel.

/** Widest vector (4, 2, 1) that divides n: the kernels load and store rows in such vectors. */
export function vectorWidth(n: number): 1 | 2 | 4 {
  return n % 4 === 0 ? 4 : n % 2 === 0 ? 2 : 1;
}

/** How kernels load rows of n elements: the WGSL defines ST, VT, LOAD, STORE, DOT, NV (see
 *  attention.wgsl). f16 is read as packed u32 pairs (unpack2x16float): lavapipe compiles native
 *  f16 loads into slow code that also takes up to a minute to compile with unrolled loops; stores
 *  round with f16_bits (wgsl/include/f16_bits), bit-identical to pack2x16float and several times
 *  faster there. Only an odd n in f16 falls back to native f16 (needs shader-f16). */
export interface VecSpec { ST: string; VT: string; LOAD: string; STORE: string; DOT: string; NV: number; enables: string[] }

export function vecSpec(dtype: 'f32' | 'f16', n: number): VecSpec {
  const w = vectorWidth(n);
  const VT = w === 1 ? 'f32' : `vec${w}<f32>`;
  const base = { VT, NV: n / w, DOT: w === 1 ? 'a * b' : 'dot(a, b)' };
  if (dtype === 'f32') return { ...base, ST: VT, LOAD: 'a', STORE: 'a', enables: [] };
  if (w === 4) {
    return { ...base, ST: 'vec2<u32>', LOAD: 'vec4<f32>(unpack2x16float(a.x), unpack2x16float(a.y))',
      STORE: 'pack_f16x4(a)', enables: [] };
  }
  if (w === 2) return { ...base, ST: 'u32', LOAD: 'unpack2x16float(a)', STORE: 'pack_f16x2(a)', enables: [] };
  return { ...base, ST: 'f16', LOAD: 'f32(a)', STORE: 'f16(a)', enables: ['f16'] };
}

/** Kernel spec fields for a vecSpec: its defines (minus enables) and its enables. NV only with
 *  `nv` (the kernels that unroll over a head-dim row: attention_io, region_attention): a define is
 *  part of the pipeline's cache key, and the pointwise kernels' NV is their element count, which
 *  would build a pipeline for every tensor size. */
export function vecDefines(v: VecSpec, opts: { nv?: boolean } = {}): { defines: Record<string, string | number>; enables?: string[] } {
  const { enables, NV, ...rest } = v;
  const defines = opts.nv ? { ...rest, NV } : rest;
  return enables.length ? { defines, enables } : { defines };
}

/** Horizontal reductions of a vecSpec's VT value named a, as WGSL expressions: HSUM (sum of its
 *  components), HMAX (their max), FIRST (its first component). */
export function vecReduceDefines(v: VecSpec): { HSUM: string; HMAX: string; FIRST: string } {
  const w = v.VT === 'f32' ? 1 : Number(v.VT[3]);
  const parts = ['x', 'y', 'z', 'w'].slice(0, w).map((c) => (w === 1 ? 'a' : `a.${c}`));
  return { HSUM: parts.join(' + '), HMAX: parts.reduce((acc, c) => `max(${acc}, ${c})`), FIRST: parts[0]! };
}

