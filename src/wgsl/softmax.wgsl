// Row-wise softmax over the last dimension, f32 math: y = exp(x − max) / Σ exp(x − max).
// x − max is formed before scaling by log2(e) (for exp2): at |x| ~ 1e4, scaling first would lose
// ~1e-3 absolute in the exponent.
//   x [rows, N] -> y [rows, N]
// Rows split over lanes as row_split says (one invocation a row, contiguous chunks, or coalesced).
// Three passes over the row (max; Σ exp; write); the second and third mostly hit the cache.
// The max is taken from the data itself (not a sentinel), so rows holding −inf work: exp(−inf) = 0;
// a lane with an empty slice contributes the lowest f32 to the max and 0 to the sum.
// The max starts from the lowest f32, not −inf, so a row of −inf only gives NaN (0/0) as exp would.
// lavapipe (README, row kernels; bench kernels rows.*): float max() compiles into slow code (~4×
// the read pass it is in); the max here is a compare and select (a NaN is skipped by it, but its
// exp2 is NaN, so the row is NaN all the same). exp2 stays the builtin: a polynomial on the
// exponent's bits was slower (rows.row_exp2_poly).
// Defines: ST, VT, LOAD, STORE (vec_io), HMAX / HSUM the horizontal max / sum of a VT value named a.
// Overrides: WG, LANES, CHUNKED.

struct Params { rows: u32, nv: u32, _p0: u32, _p1: u32 } // nv = N / width

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{ST}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{ST}}>;

override WG: u32 = 64u;
override LANES: u32 = 1u;
override CHUNKED: bool = true;
const LOG2E: f32 = 1.4426950408889634;

#include vec_io
#include row_split

fn hmax(a: {{VT}}) -> f32 { return {{HMAX}}; }
fn hsum(a: {{VT}}) -> f32 { return {{HSUM}}; }
// The terms of each pass, one unit at index i (the loops step two units at a time, then the odd one).
fn larger(a: {{VT}}, v: {{VT}}) -> {{VT}} { return select(a, v, v > a); }
fn expm(i: u32, m: f32) -> {{VT}} { return exp2((ld(x[i]) - m) * LOG2E); }

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let r = row_slice(g, p.rows, p.nv);
  let b = r.row * p.nv;
  let s2 = 2u * r.stride; // two units a step, then the odd one (row_split's pairs_end)
  let pe = pairs_end(r);
  var mv = {{VT}}(-3.4028234663852886e38); // the lowest f32 (an inf constant would not compile)
  var mw = mv;
  for (var i = r.start; i < pe; i += s2) { mv = larger(mv, ld(x[b + i])); mw = larger(mw, ld(x[b + i + r.stride])); }
  for (var i = pe; i < r.end; i += r.stride) { mv = larger(mv, ld(x[b + i])); }
  let m = row_reduce(max(hmax(mv), hmax(mw)), g.lid, true);
  var lv = {{VT}}(0.0);
  for (var i = r.start; i < pe; i += s2) { lv += expm(b + i, m) + expm(b + i + r.stride, m); }
  for (var i = pe; i < r.end; i += r.stride) { lv += expm(b + i, m); }
  let inv_l = 1.0 / row_reduce(hsum(lv), g.lid, false);
  for (var i = r.start; i < pe; i += s2) {
    let e0 = expm(b + i, m) * inv_l;
    let e1 = expm(b + i + r.stride, m) * inv_l;
    if (r.valid) { y[b + i] = st(e0); y[b + i + r.stride] = st(e1); }
  }
  for (var i = pe; i < r.end; i += r.stride) {
    if (r.valid) { y[b + i] = st(expm(b + i, m) * inv_l); }
  }
}
