// Row normalizations over the last dimension, statistics in f32.
//   x [R, C] -> y [R, C]; weight (and bias) [C].
//   layer: LayerNorm in one pass of statistics over the row shifted by its first element k:
//          d = x − k, m = mean(d), var = mean(d²) − m² (then a pass that writes). Shifting by a value
//          of the row keeps mean(d²) and m² of the order of the row's own spread, so rows with a
//          large common offset (1e4 + noise) keep the noise's precision, where E[x²] − E[x]² would
//          not; one pass of statistics instead of two reads the row twice instead of three times.
//          y = T((d − m)·rstd·w + b).
//   rms:   RMSNorm as Qwen2, n = T(x·rsqrt(mean(x²) + eps)), then y = T(n·w) (cast before the weight).
// Rows split over lanes as row_split says (one invocation a row, contiguous chunks, or coalesced).
// Defines: ST, VT, LOAD, STORE (vec_io); HSUM: the sum of a VT named a's components; FIRST: its
// first component.
// Entry points: layer, rms. Overrides: WG, LANES, CHUNKED.

struct Params { rows: u32, units: u32, cols: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{ST}}>;
@group(0) @binding(2) var<storage, read> w: array<{{ST}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{ST}}>;
@group(0) @binding(4) var<storage, read> bias: array<{{ST}}>; // layer only

override WG: u32 = 64u;
override LANES: u32 = 64u;
override CHUNKED: bool = false;

#include vec_io
#include row_split

fn hsum(a: {{VT}}) -> f32 { return {{HSUM}}; }
fn first(a: {{VT}}) -> f32 { return {{FIRST}}; }

// The terms of each pass, one unit at index j of the row at b (row kernels step two units at a time).
fn shifted(i: u32, k: f32) -> {{VT}} { return ld(x[i]) - k; }
fn layer_out(b: u32, j: u32, k: f32, m: f32, rstd: f32) -> {{ST}} { return st((shifted(b + j, k) - m) * rstd * ld(w[j]) + ld(bias[j])); }
fn square(i: u32) -> {{VT}} { let v = ld(x[i]); return v * v; }
fn rms_out(b: u32, j: u32, inv: f32) -> {{ST}} {
  let n = ld(st(ld(x[b + j]) * inv)); // rounded to the storage type before the weight (Qwen2)
  return st(n * ld(w[j]));
}

@compute @workgroup_size(WG)
fn layer(g: Grid) {
  let r = row_slice(g, p.rows, p.units);
  let b = r.row * p.units;
  let k = first(ld(x[b])); // every lane of a row reads the same k
  var s = {{VT}}(0.0);
  var q = {{VT}}(0.0);
  for (var j = r.start; j < r.end; j += r.stride) {
    let d = shifted(b + j, k);
    s += d;
    q += d * d;
  }
  let m = row_reduce(hsum(s), g.lid, false) / f32(p.cols);
  let var_ = max(row_reduce(hsum(q), g.lid, false) / f32(p.cols) - m * m, 0.0);
  let rstd = inverseSqrt(var_ + p.eps);
  for (var j = r.start; j < r.end; j += r.stride) {
    if (r.valid) { y[b + j] = layer_out(b, j, k, m, rstd); }
  }
}

@compute @workgroup_size(WG)
fn rms(g: Grid) {
  let r = row_slice(g, p.rows, p.units);
  let b = r.row * p.units;
  let s2 = 2u * r.stride;
  let pe = pairs_end(r);
  var q = {{VT}}(0.0);
  for (var j = r.start; j < pe; j += s2) { q += square(b + j) + square(b + j + r.stride); }
  for (var j = pe; j < r.end; j += r.stride) { q += square(b + j); }
  let inv = inverseSqrt(row_reduce(hsum(q), g.lid, false) / f32(p.cols) + p.eps);
  for (var j = r.start; j < pe; j += s2) {
    let y0 = rms_out(b, j, inv);
    let y1 = rms_out(b, j + r.stride, inv);
    if (r.valid) { y[b + j] = y0; y[b + j + r.stride] = y1; }
  }
  for (var j = pe; j < r.end; j += r.stride) {
    if (r.valid) { y[b + j] = rms_out(b, j, inv); }
  }
}
