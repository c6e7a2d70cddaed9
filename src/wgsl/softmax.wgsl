// Row-wise softmax over the last dimension, f32 math: y = exp(x − max) / Σ exp(x − max).
// x − max is formed before scaling by log2(e) (for exp2): at |x| ~ 1e4, scaling first would lose
// ~1e-3 absolute in the exponent.
//   x [rows, N] -> y [rows, N]
// Rows split over lanes as row_split says (one invocation a row, contiguous chunks, or coalesced).
// Three passes over the row (max; Σ exp; write); the second and third mostly hit the cache.
// The max is taken from the data itself (not a sentinel), so rows holding −inf work: exp(−inf) = 0;
// a lane with an empty slice contributes the lowest f32 to the max and 0 to the sum.
// The max starts from the lowest f32, not −inf, so a row of −inf only gives NaN (0/0) as exp would.
// lavapipe (README, row kernels): float max() and exp2() compile into slow code, 4× and ~2× the
// cost of the loads they follow; the max here is a compare and select
// (a NaN is skipped by it, but its exp2 is NaN, so the row is NaN all the same) and exp2 is
// exp2_neg below.
// Defines: ST, VT, LOAD, STORE (vec_io), HMAX / HSUM the horizontal max / sum of a VT value named a,
// IT / VT_U: VT with i32 / u32 components.
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

// 2^t for t <= 0 (softmax's only range): 2^k · p(f) with k = t rounded to an integer, f = t − k in
// [−0.5, 0.5] and p a degree-5 fit of 2^f, relative error 2.2e-7 in f32 (~4 ulp; the f32 test allows
// 1e-5 + N·6e-8, f16 output rounds at 2^-11). k comes from the bits of t + 1.5·2^23 (the FPU
// rounds; an integer conversion, unlike (t + c) − c, cannot be folded away by the compiler).
// t < −125 gives exactly 0 (2^-125 is below any output's resolution after the division by the
// sum >= 1); NaN stays NaN (it reaches the multiply).
fn exp2_neg(t: {{VT}}) -> {{VT}} {
  let c = select(t, {{VT}}(-125.0), t < {{VT}}(-125.0));
  let k = bitcast<{{IT}}>(c + 12582912.0) - {{IT}}(0x4b400000);
  let f = c - {{VT}}(k);
  let q = ((((0.00132669706 * f + 0.00967545994) * f + 0.0555074252) * f + 0.240221217) * f + 0.693146944) * f + 1.00000012;
  let two_k = bitcast<{{VT}}>((k + {{IT}}(127)) << {{VT_U}}(23u)); // 2^k, k in [−125, 0]
  return select(q * two_k, {{VT}}(0.0), t < {{VT}}(-125.0));
}

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let r = row_slice(g, p.rows, p.nv);
  let b = r.row * p.nv;
  let s2 = 2u * r.stride; // two units a step, then the odd one (row_split's pairs_end)
  let pe = pairs_end(r);
  var mv = {{VT}}(-3.4028234663852886e38); // the lowest f32 (an inf constant would not compile)
  var mw = mv;
  for (var i = r.start; i < pe; i += s2) {
    let v = ld(x[b + i]);
    let u = ld(x[b + i + r.stride]);
    mv = select(mv, v, v > mv);
    mw = select(mw, u, u > mw);
  }
  for (var i = pe; i < r.end; i += r.stride) {
    let v = ld(x[b + i]);
    mv = select(mv, v, v > mv);
  }
  let m = row_reduce(max(hmax(mv), hmax(mw)), g.lid, true);
  var lv = {{VT}}(0.0);
  for (var i = r.start; i < pe; i += s2) {
    lv += exp2_neg((ld(x[b + i]) - m) * LOG2E) + exp2_neg((ld(x[b + i + r.stride]) - m) * LOG2E);
  }
  for (var i = pe; i < r.end; i += r.stride) { lv += exp2_neg((ld(x[b + i]) - m) * LOG2E); }
  let inv_l = 1.0 / row_reduce(hsum(lv), g.lid, false);
  for (var i = r.start; i < pe; i += s2) {
    let e0 = exp2_neg((ld(x[b + i]) - m) * LOG2E) * inv_l;
    let e1 = exp2_neg((ld(x[b + i + r.stride]) - m) * LOG2E) * inv_l;
    if (r.valid) { y[b + i] = st(e0); y[b + i + r.stride] = st(e1); }
  }
  for (var i = pe; i < r.end; i += r.stride) {
    if (r.valid) { y[b + i] = st(exp2_neg((ld(x[b + i]) - m) * LOG2E) * inv_l); }
  }
}
