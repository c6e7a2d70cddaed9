// Row-wise softmax over the last dimension, f32 math: y = exp(x − max) / Σ exp(x − max).
// x − max is formed before scaling by log2(e) (for exp2): at |x| ~ 1e4, scaling first would lose
// ~1e-3 absolute in the exponent.
//   x [rows, N] -> y [rows, N]
// One invocation per row, reading its row as contiguous vectors (the fastest read pattern on
// lavapipe: a contiguous chunk per invocation), no workgroup memory, no barrier. Three passes over
// the row (max; Σ exp; write), the second and third hit the cache (a row is N·4 bytes per lane).
// The max is taken from the data itself (not a sentinel), so rows holding −inf work: exp(−inf) = 0.
// Defines: ST, VT, LOAD, STORE as in attention.wgsl (ops/vector.ts vecSpec), HMAX / HSUM the
//   horizontal max / sum of a VT value named a. Override: WG.

struct Params { rows: u32, nv: u32, _p0: u32, _p1: u32 } // nv = N / width

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{ST}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{ST}}>;

override WG: u32 = 64u;
const LOG2E: f32 = 1.4426950408889634;

fn ld(a: {{ST}}) -> {{VT}} { return {{LOAD}}; }
fn st(a: {{VT}}) -> {{ST}} { return {{STORE}}; }
fn hmax(a: {{VT}}) -> f32 { return {{HMAX}}; }
fn hsum(a: {{VT}}) -> f32 { return {{HSUM}}; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= p.rows) { return; }
  let b = row * p.nv;
  var mv = ld(x[b]);
  for (var i = 1u; i < p.nv; i++) { mv = max(mv, ld(x[b + i])); }
  let m = hmax(mv);
  var lv = {{VT}}(0.0);
  for (var i = 0u; i < p.nv; i++) { lv += exp2((ld(x[b + i]) - m) * LOG2E); }
  let inv_l = 1.0 / hsum(lv);
  for (var i = 0u; i < p.nv; i++) { y[b + i] = st(exp2((ld(x[b + i]) - m) * LOG2E) * inv_l); }
}
