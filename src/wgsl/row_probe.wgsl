// Microbenchmark: what one step of a row kernel costs on this adapter, by the operation applied to
// each unit (bench/kernels/row_probe.ts). One pass over f16 rows as the row kernels read them (one
// row an invocation, vec2<u32> units of 4 halves), one operation a unit; the figure is the pass's
// GB/s beside the read ceiling, so what costs more than the loads shows as a lower share.
//   reduce: acc = STEP (an expression of acc and the unit v), from INIT; the row's horizontal
//           sum or max (TOTAL: total or top) as f32 bits into y[row].x. The read pass is
//           STEP = acc + v; every other probe adds one operation to it (max, exp2, ...).
//   store:  y = STORE (an expression of the unit's raw words u and its values v, scaled by p.s).
//   traffic: the loads and stores of a row kernel and nothing else (integer xors, no conversion):
//           READS passes that load the row, then one that loads it again with WEIGHTS loads of
//           [C] vectors at the same unit (w, and bias) and stores it. Softmax is READS 2, RMSNorm
//           READS 1 WEIGHTS 1, LayerNorm READS 1 WEIGHTS 2: a bound on what they can reach.
// LOAD: ld (unpack2x16float) or, with shader-f16, ld_cast (a bitcast to vec4<f16> and a conversion);
// st_cast is the store's counterpart.

struct Params { rows: u32, units: u32, s: f32, _p: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> w: array<vec2<u32>>; // traffic only

override WG: u32 = 64u;

#include grid
#include f16_bits

// 2^t from its exponent's bits and a degree-5 polynomial (relative error 2.2e-7): k = t rounded
// to an integer through the bits of t + 1.5·2^23, f = t − k in [−0.5, 0.5]; t clamped to [−125, 127].
// Slower than the builtin exp2 here, so no kernel uses it.
fn exp2_poly(t: vec4<f32>) -> vec4<f32> {
  let c = select(select(t, vec4<f32>(127.0), t > vec4<f32>(127.0)), vec4<f32>(-125.0), t < vec4<f32>(-125.0));
  let k = bitcast<vec4<i32>>(c + 12582912.0) - vec4<i32>(0x4b400000);
  let f = c - vec4<f32>(k);
  let q = ((((0.00132669706 * f + 0.00967545994) * f + 0.0555074252) * f + 0.240221217) * f + 0.693146944) * f + 1.00000012;
  let two_k = bitcast<vec4<f32>>((k + vec4<i32>(127)) << vec4<u32>(23u));
  return select(q * two_k, vec4<f32>(0.0), t < vec4<f32>(-125.0));
}

fn ld(a: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(a.x), unpack2x16float(a.y)); }
{{F16_CASTS}}
fn total(a: vec4<f32>) -> vec2<u32> { return vec2<u32>(bitcast<u32>(a.x + a.y + a.z + a.w), 0u); }
fn top(a: vec4<f32>) -> vec2<u32> { return vec2<u32>(bitcast<u32>(max(max(a.x, a.y), max(a.z, a.w))), 0u); }

@compute @workgroup_size(WG)
fn reduce(g: Grid) {
  let r = min(flat_id(g), p.rows - 1u);
  var acc = vec4<f32>({{INIT}});
  for (var j = 0u; j < p.units; j++) {
    let v = {{LOAD}}(x[r * p.units + j]);
    acc = {{STEP}};
  }
  y[r] = {{TOTAL}}(acc);
}

@compute @workgroup_size(WG)
fn store(g: Grid) {
  let r = min(flat_id(g), p.rows - 1u);
  for (var j = 0u; j < p.units; j++) {
    let u = x[r * p.units + j];
    let v = {{LOAD}}(u) * p.s;
    y[r * p.units + j] = {{STORE}};
  }
}

@compute @workgroup_size(WG)
fn traffic(g: Grid) {
  let b = min(flat_id(g), p.rows - 1u) * p.units;
  var acc = vec2<u32>(0u);
  for (var k = 0u; k < {{READS}}u; k++) {
    for (var j = 0u; j < p.units; j++) { acc ^= x[b + j]; }
  }
  for (var j = 0u; j < p.units; j++) { y[b + j] = x[b + j] ^ acc{{WEIGHTS}}; }
}
