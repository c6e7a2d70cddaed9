// Elementwise binary op with broadcasting: y[i] = OP(a[ia], b[ib]).
// Units as vec_io reads them (ST, VT, LOAD, STORE): vectors of 4 or 2 elements where both inputs
// are contiguous along the inner dimension and it divides (one load per vector instead of one per
// element: lavapipe scalarizes every per-lane load), single elements otherwise; all strides and
// lengths below are in units. OP: an expression in x and z (the two operands, VT), e.g. "x + z".
//
// Shapes arrive coalesced (ops/broadcast.ts): an outer part of up to MAX_OUTER dimensions and one
// contiguous inner dimension along which each input's stride is 0 (broadcast) or 1. Each invocation
// handles a run of CHUNK consecutive inner elements, so the index arithmetic (integer division, which
// lavapipe cannot vectorize) is paid once a run instead of once an element, and each invocation reads
// a contiguous chunk (the fastest read pattern on CPU-backed adapters).
// Workgroups are folded over x and y (see core/kernel.ts fold()).

struct Params {
  runs: u32,        // outer elements × runs per inner row
  inner: u32,       // inner dimension length
  runs_per_row: u32,
  outer_rank: u32,
  inner_stride_a: u32,
  inner_stride_b: u32,
  _pad0: u32,
  _pad1: u32,
  dims: array<vec4<u32>, 2>,     // outer dimensions, innermost last
  stride_a: array<vec4<u32>, 2>, // element strides of a along them (0 = broadcast)
  stride_b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<{{ST}}>;
@group(0) @binding(2) var<storage, read> b: array<{{ST}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{ST}}>;

override WG: u32 = 64u;
override CHUNK: u32 = 16u;

#include grid
#include vec_io

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let run = flat_id(g);
  if (run >= p.runs) { return; }
  let o = run / p.runs_per_row;
  let start = (run - o * p.runs_per_row) * CHUNK;
  var rem = o;
  var ia = 0u;
  var ib = 0u;
  for (var d = p.outer_rank; d > 0u; d = d - 1u) {
    let k = d - 1u;
    let dim = p.dims[k / 4u][k % 4u];
    let c = rem % dim;
    rem = rem / dim;
    ia = ia + c * p.stride_a[k / 4u][k % 4u];
    ib = ib + c * p.stride_b[k / 4u][k % 4u];
  }
  let end = min(start + CHUNK, p.inner);
  let base = o * p.inner;
  for (var e = start; e < end; e = e + 1u) {
    let x = ld(a[ia + e * p.inner_stride_a]);
    let z = ld(b[ib + e * p.inner_stride_b]);
    y[base + e] = st({{OP}});
  }
}
