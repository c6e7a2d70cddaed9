// Point-to-region attention (ST-Packer, architecture.md §6.1): each query attends only to its own
// R region keys, so the R scores fit in registers; nothing of size Nq × Nk exists.
//   q [Nq, E]; k, v [Nk, E]; index u32 [Nq, R]; H heads of d = E / H -> o [Nq, E]
// One invocation per (query n, head h), f = n·H + h: the H lanes of one query read the same key
// rows at consecutive head offsets (a contiguous E-row per query and key). Two passes over the R
// keys (scores, then the weighted sum of V) so the accumulator is never rescaled.
// Defines: ST, VT, LOAD, STORE, NV = d / width, DOT as in attention.wgsl (ops/vector.ts vecSpec),
//   R keys per query. Override: WG.
// k and v may be bound as a window of nk rows starting at key row k_base (keys over the binding
// limit, ops/region_attention.ts keyGroup); an index outside the window is clamped into it (memory
// safety; the op documents indices as valid). This dispatch covers queries q_base.. (total pairs).

struct Params { total: u32, H: u32, ev: u32, nk: u32, scale: f32, nv: u32, q_base: u32, k_base: u32 }
// total = queries of this dispatch · H; ev = E / width (row stride in vectors); nv = NV as a uniform
// so that the loops over it are not unrolled: unrolled, lavapipe's LLVM takes tens of seconds to
// compile d = 128.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<{{ST}}>;
@group(0) @binding(2) var<storage, read> k: array<{{ST}}>;
@group(0) @binding(3) var<storage, read> v: array<{{ST}}>;
@group(0) @binding(4) var<storage, read> index: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<{{ST}}>;

override WG: u32 = 64u;
const NV: u32 = {{NV}}u;
const R: u32 = {{R}}u;

fn dotv(a: {{VT}}, b: {{VT}}) -> f32 { return {{DOT}}; }
#include vec_io
#include grid

@compute @workgroup_size(WG)
fn main(inv: Grid) {
  let f = flat_id(inv);
  if (f >= p.total) { return; }
  let n = p.q_base + f / p.H;
  let hoff = (f % p.H) * NV; // head offset within a row, in vectors
  let qb = n * p.ev + hoff;
  var base: array<u32, R>;
  var s: array<f32, R>;
  var m = -3.0e38;
  for (var r = 0u; r < R; r++) {
    base[r] = min(max(index[n * R + r], p.k_base) - p.k_base, p.nk - 1u) * p.ev + hoff;
    var dotp = 0.0;
    for (var i = 0u; i < p.nv; i++) { dotp += dotv(ld(q[qb + i]), ld(k[base[r] + i])); }
    s[r] = dotp * p.scale; // base-2 scores: scale includes log2(e)
    m = max(m, s[r]);
  }
  var l = 0.0;
  for (var r = 0u; r < R; r++) { s[r] = exp2(s[r] - m); l += s[r]; }
  let inv_l = 1.0 / l;
  for (var i = 0u; i < p.nv; i++) {
    var a = {{VT}}(0.0);
    for (var r = 0u; r < R; r++) { a += s[r] * ld(v[base[r] + i]); }
    o[qb + i] = st(a * inv_l);
  }
}
