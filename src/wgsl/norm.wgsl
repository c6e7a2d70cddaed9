// Row normalizations over the last dimension, one workgroup a row, statistics in f32.
//   x [R, C] -> y [R, C]; weight (and bias) [C].
//   layer: LayerNorm, two passes over the row shifted by its first element k (sum of x − k, then sum
//          of squared deviations): rows with a large common offset (1e4 + noise) keep the noise's
//          precision, where E[x²] − E[x]² or even an f32 mean near 1e4 would not.
//          y = T(((x − k) − m)·rstd·w + b), m = mean(x − k).
//   rms:   RMSNorm as Qwen2, n = T(x·rsqrt(mean(x²) + eps)), then y = T(n·w) (cast before the weight).
// Defines: VT: storage unit (vec4<T> when C % 4 == 0, else T); F: the same shape in f32;
// HSUM: the sum of an F named v's components; FIRST: the row's first element as f32. Entry points: layer, rms. WG: override.
// Reductions cost one barrier each: every invocation adds the WG partials itself, in the same order
// (so all agree), instead of a log2(WG)-barrier tree (a barrier is ~0.5 µs a workgroup on lavapipe).

struct Params { rows: u32, units: u32, cols: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{VT}}>;
@group(0) @binding(2) var<storage, read> w: array<{{VT}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{VT}}>;
@group(0) @binding(4) var<storage, read> bias: array<{{VT}}>; // layer only

override WG: u32 = 64u;
const MAX_WG = 256u;
var<workgroup> part_a: array<f32, MAX_WG>;
var<workgroup> part_b: array<f32, MAX_WG>;

fn hsum(v: {{F}}) -> f32 { return {{HSUM}}; }

// Sum of the partials in order; part must have been written and barriered.
fn total_a() -> f32 {
  var s = 0.0;
  for (var i = 0u; i < WG; i = i + 1u) { s = s + part_a[i]; }
  return s;
}
fn total_b() -> f32 {
  var s = 0.0;
  for (var i = 0u; i < WG; i = i + 1u) { s = s + part_b[i]; }
  return s;
}

@compute @workgroup_size(WG)
fn layer(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // uniform per workgroup: the barriers below stay uniform
  let base = row * p.units;
  let k = {{FIRST}};
  var s = 0.0;
  for (var j = lid; j < p.units; j = j + WG) { s = s + hsum({{F}}(x[base + j]) - k); }
  part_a[lid] = s;
  workgroupBarrier();
  let m = total_a() / f32(p.cols);
  var q = 0.0;
  for (var j = lid; j < p.units; j = j + WG) {
    let d = ({{F}}(x[base + j]) - k) - m;
    q = q + hsum(d * d);
  }
  part_b[lid] = q;
  workgroupBarrier();
  let rstd = inverseSqrt(total_b() / f32(p.cols) + p.eps);
  for (var j = lid; j < p.units; j = j + WG) {
    y[base + j] = {{VT}}((({{F}}(x[base + j]) - k) - m) * rstd * {{F}}(w[j]) + {{F}}(bias[j]));
  }
}

@compute @workgroup_size(WG)
fn rms(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.units;
  var q = 0.0;
  for (var j = lid; j < p.units; j = j + WG) {
    let v = {{F}}(x[base + j]);
    q = q + hsum(v * v);
  }
  part_a[lid] = q;
  workgroupBarrier();
  let r = inverseSqrt(total_a() / f32(p.cols) + p.eps);
  for (var j = lid; j < p.units; j = j + WG) {
    let n = {{VT}}({{F}}(x[base + j]) * r); // cast to the storage type before the weight (Qwen2)
    y[base + j] = {{VT}}({{F}}(n) * {{F}}(w[j]));
  }
}
