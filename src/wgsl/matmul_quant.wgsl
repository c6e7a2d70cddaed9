// y[m, ycol0 + n] = sum_k x[m, k] * dequant(w)[n, k] (+ bias[bcol0 + n]), accumulated in f32, with
// w quantized by groups along k (layout: src/core/quant.ts):
//   codes  u32 [N, KW]  BITS-bit codes, 32/BITS a word, lowest bits first (k = word·32/BITS + i)
//   groups u32 [N, GW]  unpack2x16float(g) = (scale, offset); w = code·scale + offset
// The weight is dequantized in registers, never written out: decode streams BITS/8 + 4/G bytes a
// weight instead of 2 (f16).
//
// Same tiling as matmul_reg.wgsl (see the reasons there): a workgroup computes a TM×TN tile, its WG
// lanes split the row's words between them (lane l takes words l, l+WG, ...), partial sums stay in
// registers, one cross-lane reduction at the end. A word holds Q = 32/BITS/4 vec4s of k-values.
//
// Text defines (set by src/ops/quant_linear.ts):
//   TM, TN, WG      tile rows, tile columns, lanes per workgroup
//   BITS, Q         bits per code (8 or 4), vec4s per code word (1 or 2)
//   XS, LDX         storage type of x and the expression widening x[i] to vec4<f32> (vec4 index i)
//   YT              storage type of y (f32 or f16)
//   BIAS, BIAS_DECL bias of output column n (0.0 without bias), and its binding (5) or empty
//   RED_DECL, RED   the cross-lane reduction (subgroupAdd or plain), as in matmul_reg.wgsl
// Params: M, N (rows of this part), KW (code words per row), WPG (words per group), ldy, ycol0, bcol0.

struct Params { M: u32, N: u32, KW: u32, WPG: u32, ldy: u32, ycol0: u32, bcol0: u32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{XS}}>;
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(3) var<storage, read> groups: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<{{YT}}>;
{{BIAS_DECL}}

const TM = {{TM}}u;
const TN = {{TN}}u;
const WG = {{WG}}u;
const BITS = {{BITS}}u;
const Q = {{Q}}u;
const MASK = (1u << BITS) - 1u;

fn ldx(i: u32) -> vec4<f32> { return {{LDX}}; }
fn bias_of(n: u32) -> f32 { return {{BIAS}}; }

/** The h-th vec4 of codes in a word, as f32. */
fn codes4(word: u32, h: u32) -> vec4<f32> {
  let shift = vec4<u32>(0u, 1u, 2u, 3u) * BITS + 4u * BITS * h;
  return vec4<f32>((vec4<u32>(word) >> shift) & vec4<u32>(MASK));
}

var<workgroup> red: array<f32, TM * TN * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32 {{RED_DECL}}) {
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  let GW = p.KW / p.WPG;
  // Clamped rows and columns are computed, never stored: no branch in the loop.
  var xr: array<u32, TM>;
  var cr: array<u32, TN>;
  var gr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(m0 + i, p.M - 1u) * p.KW * Q; }
  for (var j = 0u; j < TN; j++) { let n = min(n0 + j, p.N - 1u); cr[j] = n * p.KW; gr[j] = n * GW; }

  var acc: array<array<f32, TN>, TM>;
  for (var k = lid; k < p.KW; k += WG) {
    let g = k / p.WPG;
    var xv: array<array<vec4<f32>, Q>, TM>;
    for (var i = 0u; i < TM; i++) {
      for (var h = 0u; h < Q; h++) { xv[i][h] = ldx(xr[i] + k * Q + h); }
    }
    for (var j = 0u; j < TN; j++) {
      let word = codes[cr[j] + k];
      let so = unpack2x16float(groups[gr[j] + g]);
      for (var h = 0u; h < Q; h++) {
        let wv = codes4(word, h) * so.x + vec4<f32>(so.y);
        for (var i = 0u; i < TM; i++) { acc[i][j] += dot(xv[i][h], wv); }
      }
    }
  }

  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) { let v = acc[i][j]; {{RED}} }
  }
  workgroupBarrier();
  for (var o = lid; o < TM * TN; o += WG) {
    var s = 0.0;
    for (var l = 0u; l < WG; l++) { s += red[o * WG + l]; }
    let m = m0 + o / TN;
    let n = n0 + o % TN;
    if (m < p.M && n < p.N) {
      y[m * p.ldy + p.ycol0 + n] = {{YT}}(s + bias_of(p.bcol0 + n));
    }
  }
}
