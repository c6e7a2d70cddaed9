// Merges the per-chunk partial results of attention.wgsl's main_split (split keys: decode).
//   part_acc [nchunks, Hkv, rows, D] (unnormalised Σ 2^(s − m_c)·v), part_ml [nchunks, Hkv, rows]
//   (m_c in base 2, l_c) -> o [Lq, Hq, D] where pair f = r·G + hg of KV head g is query head g·G + hg.
//   o = Σ_c 2^(m_c − M)·acc_c / Σ_c 2^(m_c − M)·l_c with M = max_c m_c. A chunk that saw no key
//   (causal) has l_c = 0 and acc_c = 0, so it adds nothing.
// One invocation per output vector (D = NV vectors); the partials are small (decode: Hq·D a chunk).
// Defines: ST, VT, LOAD, STORE as in attention.wgsl (include/vec_io.wgsl). Override: WG.

struct Params { total: u32, rows: u32, G: u32, Hq: u32, NV: u32, nchunks: u32, stride_c: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part_acc: array<{{VT}}>;
@group(0) @binding(2) var<storage, read> part_ml: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<{{ST}}>;

override WG: u32 = 64u;

#include vec_io
#include grid

@compute @workgroup_size(WG)
fn main(inv: Grid) {
  let i = flat_id(inv);
  if (i >= p.total) { return; }
  let e = i % p.NV;
  let gr = i / p.NV; // g·rows + f
  let g = gr / p.rows;
  let f = gr % p.rows;
  var m = -1.0e30;
  for (var c = 0u; c < p.nchunks; c++) { m = max(m, part_ml[c * p.stride_c + gr].x); }
  var l = 0.0;
  var a = {{VT}}(0.0);
  for (var c = 0u; c < p.nchunks; c++) {
    let row = c * p.stride_c + gr;
    let w = exp2(part_ml[row].x - m);
    l += w * part_ml[row].y;
    a += w * part_acc[row * p.NV + e];
  }
  o[((f / p.G) * p.Hq + g * p.G + f % p.G) * p.NV + e] = st(a / l);
}
