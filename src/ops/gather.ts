// Row gathers: embedding lookup by token id (tables may exceed one binding: 151960×3584 f32 is
// 2 GiB, so a SplitWeight table is gathered part by part), and row gathers by index; see gather.wgsl.
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { SplitWeight, type Weight } from './linear.js';

const WG = 64;
type Float = 'f32' | 'f16';

function floatDtype(op: string, t: Tensor, what: string): Float {
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new DTypeError(`${op}: ${what} ${t.name} is ${t.dtype}; only f32 and f16 are supported`);
  return t.dtype;
}

function spec(entryPoint: 'gather' | 'lerp', inT: Float, outT: Float, C: number, ID: string) {
  const vec = C % 4 === 0;
  return {
    source: 'gather', entryPoint,
    defines: { IN_VT: vec ? `vec4<${inT}>` : inT, OUT_VT: vec ? `vec4<${outT}>` : outT, F: vec ? 'vec4<f32>' : 'f32', ID },
    constants: { WG }, ...(inT === 'f16' || outT === 'f16' ? { enables: ['f16'] } : {}),
  };
}

/** Gathers rows of table parts (row chunks of one [V, C] table) by ids into a new [L, C] tensor. */
function gatherParts(op: string, parts: readonly Tensor[], V: number, C: number, ids: Tensor, outT: Float): Tensor {
  const inT = floatDtype(op, parts[0]!, 'table');
  if (ids.dtype !== 'i32' && ids.dtype !== 'u32') throw new DTypeError(`${op}: ids ${ids.name} is ${ids.dtype}; need i32 or u32`);
  if (ids.rank !== 1) throw new ShapeError(`${op}: ids ${ids.name} ${shapeStr(ids.shape)} is not [L]`);
  const L = ids.size;
  const gpu = ids.gpu;
  const y = Tensor.empty(gpu, [L, C], outT, op);
  if (L === 0 || C === 0) return y;
  if (V === 0) throw new ShapeError(`${op}: the table is empty, nothing to gather for ids ${shapeStr(ids.shape)}`);
  const kernel = gpu.kernels.get(spec('gather', inT, outT, C, ids.dtype));
  const units = C % 4 === 0 ? C / 4 : C;
  let first = 0;
  for (const part of parts) {
    const n = part.shape[0]!;
    kernel.dispatch([part.binding(), ids.binding(), y.binding()], L, new Uint32Array([L, units, V, first, n, 0, 0, 0]));
    first += n;
  }
  return y;
}

function tableParts(op: string, table: Weight): { parts: readonly Tensor[]; V: number; C: number } {
  const all = table instanceof SplitWeight ? table.parts : [table];
  const parts = all.map((p) => {
    if (!(p instanceof Tensor)) throw new DTypeError(`${op}: table ${table.name} has a quantized part ${p.name}; gathered tables are stored f32 or f16 (nn/weight_format)`);
    return p;
  });
  const [V, C] = table instanceof SplitWeight ? table.shape : (table.shape as [number, number]);
  if (table.shape.length !== 2) throw new ShapeError(`${op}: table ${table.name} ${shapeStr(table.shape)} is not [V, C]`);
  let rows = 0;
  for (const p of parts) {
    if (p.rank !== 2 || p.shape[1] !== C) throw new ShapeError(`${op}: part ${p.name} ${shapeStr(p.shape)} of table ${table.name} ${shapeStr(table.shape)} is not [rows, ${C}]`);
    if (p.dtype !== parts[0]!.dtype) throw new DTypeError(`${op}: part ${p.name} is ${p.dtype}, part ${parts[0]!.name} is ${parts[0]!.dtype}`);
    rows += p.shape[0]!;
  }
  if (rows !== V) throw new ShapeError(`${op}: the parts of table ${table.name} hold ${rows} rows, its shape ${shapeStr(table.shape)} says ${V}`);
  return { parts, V: V!, C: C! };
}

/** table [V, C] (Tensor or SplitWeight), ids i32 [L] -> [L, C] in `dtype` (default: the table's).
 *  Ids outside [0, V) are clamped to the nearest valid row (the host cannot see GPU ids; use
 *  embeddingFromIds for host ids, which are checked). */
export function embedding(table: Weight, ids: Tensor, dtype?: 'f32' | 'f16'): Tensor {
  const { parts, V, C } = tableParts('embedding', table);
  const outT = dtype ?? floatDtype('embedding', parts[0]!, 'table');
  if (outT !== 'f32' && outT !== 'f16') throw new DTypeError(`embedding: output dtype ${String(outT)} is not f32 or f16`);
  return gatherParts('embedding', parts, V, C, ids, outT);
}

/** embedding() for ids on the host: every id is checked against [0, V) first (a typed error
 *  naming the position and the id), then uploaded. */
export function embeddingFromIds(table: Weight, ids: Int32Array, dtype?: 'f32' | 'f16'): Tensor {
  const V = table.shape[0]!;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= V) throw new ShapeError(`embeddingFromIds: id ${id} at position ${i} is outside table ${table.name} ${shapeStr(table.shape)} (need 0 <= id < ${V})`);
  }
  const gpu = (table instanceof SplitWeight ? table.parts[0]! : table).gpu;
  const t = Tensor.fromArray(gpu, ids, [ids.length], 'i32', 'ids');
  try {
    return embedding(table, t, dtype);
  } finally {
    t.dispose();
  }
}

/** src [N, C], index u32 [M] -> [M, C] (indices >= N are clamped to N − 1, as in embedding). */
export function gatherRows(src: Tensor, index: Tensor): Tensor {
  if (src.rank !== 2) throw new ShapeError(`gatherRows: src ${src.name} ${shapeStr(src.shape)} is not [N, C]`);
  if (index.dtype !== 'u32') throw new DTypeError(`gatherRows: index ${index.name} is ${index.dtype}; need u32`);
  const [N, C] = src.shape as [number, number];
  return gatherParts('gatherRows', [src], N, C, index, floatDtype('gatherRows', src, 'src'));
}

/** Per output row r: (1 − w[r])·table[i0[r]] + w[r]·table[i1[r]] (LAPE resampling, coordinate
 *  placeholder injection). table [V, C] -> [R, C]; products and sum in f32. */
export function lerpRows(table: Tensor, i0: readonly number[], i1: readonly number[], w: readonly number[]): Tensor {
  const T = floatDtype('lerpRows', table, 'table');
  if (table.rank !== 2) throw new ShapeError(`lerpRows: table ${table.name} ${shapeStr(table.shape)} is not [V, C]`);
  const R = i0.length;
  if (i1.length !== R || w.length !== R) throw new ShapeError(`lerpRows: i0, i1 and w have lengths ${R}, ${i1.length}, ${w.length}; they must be equal`);
  const [V, C] = table.shape as [number, number];
  const args = new Uint32Array(4 * R);
  const wf = new Float32Array(args.buffer);
  for (let r = 0; r < R; r++) {
    for (const i of [i0[r]!, i1[r]!]) {
      if (!Number.isInteger(i) || i < 0 || i >= V) throw new ShapeError(`lerpRows: row index ${i} (output row ${r}) is outside table ${table.name} ${shapeStr(table.shape)}`);
    }
    if (!Number.isFinite(w[r]!)) throw new ShapeError(`lerpRows: weight ${w[r]} of output row ${r} is not finite`);
    args[4 * r] = i0[r]!;
    args[4 * r + 1] = i1[r]!;
    wf[4 * r + 2] = w[r]!;
  }
  const gpu = table.gpu;
  const y = Tensor.empty(gpu, [R, C], T, 'lerpRows');
  if (R === 0 || C === 0) return y;
  const a = Tensor.fromArray(gpu, args, [R, 4], 'u32', 'lerpRows.args');
  gpu.kernels.get(spec('lerp', T, T, C, 'u32')).dispatch([table.binding(), a.binding(), y.binding()], R,
    new Uint32Array([R, C % 4 === 0 ? C / 4 : C, V, 0, V, 0, 0, 0]));
  a.dispose();
  return y;
}
