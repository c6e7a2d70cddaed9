// y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]), accumulated in f32, with x moved
// between lanes by subgroupBroadcast instead of loaded by every lane.
// x [M, K] row-major, w [N, K], y rows of stride ldy. K is read in vec4s (KV = K / 4).
// Lanes over N: every lane of a workgroup shares the same TM rows; lane l owns the TN columns
// n0 + l + j·WG (consecutive across lanes). K is walked in chunks of 8 vec4s (32 k-values): lane
// l & 7 loads vec4 l & 7 of the chunk for each of the TM rows, and subgroupBroadcast from lanes 0..7
// hands every lane all 8. Why: on lavapipe a per-lane load costs ~5× a broadcast
// (bench kernels --filter loads.), so one load now feeds 8 vec4s of x. W stays a per-lane load with
// addresses that are consecutive rows across lanes. Per chunk a lane makes TM + 8·TN loads for
// 32·TM·TN FMAs (matmul_reg 12×12, scalar loads: 24 loads per 144 FMAs).
// Needs subgroups of at least 8 lanes (lavapipe: 8; most GPUs 16..64).
//
// Text defines (set by src/ops/matmul_bcast.ts): TM, TN, WG; XS, WS (vec4<f32> or vec2<u32> for
// packed f16), LDX, LDW (widening loads -> vec4<f32>), YT, BIAS, BIAS_DECL as in include/linear_io.wgsl.
// Params: M, N, KV, ldy, ycol0, bcol0. Workgroups: x over column blocks of WG·TN, y over row blocks of TM.

#include linear_io
#include lane_broadcast

const TM = {{TM}}u;
const TN = {{TN}}u;
const WG = {{WG}}u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * TM;
  let n0 = wid.x * WG * TN + lid;
  let c8 = lid & 7u; // this lane's vec4 of each 8-vec4 chunk of x
  // Rows and columns past the end are clamped to the last one (computed, never stored).
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(m0 + i, p.M - 1u) * p.KV; }
  for (var j = 0u; j < TN; j++) { wr[j] = min(n0 + j * WG, p.N - 1u) * p.KV; }

  var acc = array<array<f32, TN>, TM>();
  for (var k0 = 0u; k0 < p.KV; k0 += 8u) {
    // x past K is zero (so the clamped W read there adds nothing).
    let kx = k0 + c8;
    var xl: array<vec4<f32>, TM>;
    for (var i = 0u; i < TM; i++) { xl[i] = select(vec4<f32>(0.0), ldx(xr[i] + min(kx, p.KV - 1u)), kx < p.KV); }
    for (var c = 0u; c < 8u; c++) {
      // Past K nothing is added: a short last chunk (K = 48: 12 vec4s = 8 + 4) skips its TN loads.
      // The condition is uniform, so the broadcasts stay in uniform control flow.
      if (k0 + c < p.KV) {
        let kw = k0 + c;
        var wv: array<vec4<f32>, TN>;
        for (var j = 0u; j < TN; j++) { wv[j] = ldw(wr[j] + kw); }
        for (var i = 0u; i < TM; i++) {
          let xb = from_lane(xl[i], c);
          for (var j = 0u; j < TN; j++) { acc[i][j] += dot(xb, wv[j]); }
        }
      }
    }
  }

  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      let m = m0 + i;
      let n = n0 + j * WG;
      if (m < p.M && n < p.N) { y[m * p.ldy + p.ycol0 + n] = {{YT}}(acc[i][j] + bias_of(p.bcol0 + n)); }
    }
  }
}
