// Head-major relayout: dst[h, off + l, :] = src[l, h, :].
//   src [L, H, D] (projection output); dst [H, Ldst, D] (attention / KV-cache layout).
//   transposeHeads is off = 0, Ldst = L; writeKV appends L rows at off into a cache of Ldst rows.
// One invocation per vector of the head dim (D = NV vectors of the storage type ST: vec4<T>,
// vec2<T> or T, the widest that divides D), reading src contiguously. Workgroups folded over x, y.
// Define: ST. Override: WG.

struct Params { total: u32, H: u32, NV: u32, Ldst: u32, off: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{ST}}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ST}}>;

override WG: u32 = 256u;

#include grid

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let i = flat_id(g);
  if (i >= p.total) { return; }
  let e = i % p.NV;
  let lh = i / p.NV; // l·H + h
  let h = lh % p.H;
  let l = lh / p.H;
  dst[(h * p.Ldst + p.off + l) * p.NV + e] = src[i];
}
