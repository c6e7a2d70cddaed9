// y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]), accumulated in f32: the GPU-class
// GEMM. x [M, K] row-major, w [N, K] (Linear weights as checkpoints store them), y rows of stride ldy.
//
// A workgroup of WX·WY invocations owns a BM×BN block of y (BM = WY·TM, BN = WX·TN). It walks K in
// tiles of BK k-values: all its invocations first copy the x tile (BM×BK) and the w tile (BN×BK)
// from global memory into workgroup memory (consecutive invocations read consecutive vectors along
// k: coalesced; every element read once per block), each row kept as BK/4 vec4s of k; then each
// invocation runs BK/4 steps on its TM×TN register tile, reading TM + TN vec4s of workgroup memory
// per step for 4·TM·TN FMAs (dot products). Reuse: each global element feeds BN (x) or BM (w) FMAs.
//
// Register-tile layout: invocation (tx, ty) owns the rows ty, ty + WY, ... and the columns
// tx, tx + WX, ... of the block, so neighbouring invocations read rows S vec4s apart; the one vec4
// of padding in S puts them in different banks.
//
// Text defines (set by src/ops/matmul_shared.ts):
//   TM, TN          rows and columns of y per invocation (multiples of 4)
//   WX, WY          invocations along n and along m (a 1-D workgroup of WX·WY)
//   BK              k-values per tile (a multiple of 4)
//   V               k-values per global load (4, 2 or 1)
//   XS, WS, XV      storage types of x and w, the f32 type one load widens to
//   LDX, LDW        widening loads x[i] / w[i] -> XV
//   QUAD_X, QUAD_W  vec4 of k-values 4q..4q+3 of row r from kx/kw (V = 4: one load; 2, 1: several)
//   YT, BIAS, BIAS_DECL as in include/linear_io.wgsl
// Params: M, N, KV = K / V, ldy, ycol0, bcol0. Workgroups: x over column blocks of BN, y over row
// blocks of BM.

#include linear_io

const TM = {{TM}}u;
const TN = {{TN}}u;
const WX = {{WX}}u;
const WY = {{WY}}u;
const WG = WX * WY;
const BM = WY * TM;
const BN = WX * TN;
const BK = {{BK}}u;
const V = {{V}}u;
const BQ = BK / 4u; // k quads (vec4s) of a tile row

// The k-vector kv of row `row` of x or w. Past K, w reads as zero, so the clamped x there adds nothing.
fn kx(row: u32, kv: u32) -> XV { return ldx(row * p.KV + min(kv, p.KV - 1u)); }
fn kw(row: u32, kv: u32) -> XV { return select(XV(0.0), ldw(row * p.KV + min(kv, p.KV - 1u)), kv < p.KV); }
// k-values 4q .. 4q+3 of a row, from 4/V loads of V each (QUAD: an expression in r and q).
fn quad_x(r: u32, q: u32) -> vec4<f32> { return {{QUAD_X}}; }
fn quad_w(r: u32, q: u32) -> vec4<f32> { return {{QUAD_W}}; }

// The tiles, k in vec4s: xs[r·S + kq] = x[m0 + r, k0 + 4kq .. +3] (ws likewise with n). The row
// stride S = BK/4 + 1 (one vec4 of padding) puts neighbouring rows in different banks.
const S = BK / 4u + 1u;
var<workgroup> xs: array<vec4<f32>, BM * S>;
var<workgroup> ws: array<vec4<f32>, BN * S>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid % WX;
  let ty = lid / WX;

  var acc = array<array<f32, TN>, TM>(); // explicit zero (see ops/matmul_rows.ts)
  let K4 = (p.KV * V + 3u) / 4u; // k quads of a row
  for (var q0 = 0u; q0 < K4; q0 += BQ) {
    // Copy the tiles. Rows past M or N are clamped to the last one (computed, never stored).
    for (var t = lid; t < BM * BQ; t += WG) {
      xs[(t / BQ) * S + t % BQ] = quad_x(min(m0 + t / BQ, p.M - 1u), q0 + t % BQ);
    }
    for (var t = lid; t < BN * BQ; t += WG) {
      ws[(t / BQ) * S + t % BQ] = quad_w(min(n0 + t / BQ, p.N - 1u), q0 + t % BQ);
    }
    workgroupBarrier();

    for (var kq = 0u; kq < BQ; kq++) {
      var a: array<vec4<f32>, TM>;
      var b: array<vec4<f32>, TN>;
      for (var i = 0u; i < TM; i++) { a[i] = xs[(i * WY + ty) * S + kq]; }
      for (var j = 0u; j < TN; j++) { b[j] = ws[(j * WX + tx) * S + kq]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] += dot(a[i], b[j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      let m = m0 + i * WY + ty;
      let n = n0 + j * WX + tx;
      if (m < p.M && n < p.N) { y[m * p.ldy + p.ycol0 + n] = {{YT}}(acc[i][j] + bias_of(p.bcol0 + n)); }
    }
  }
}
