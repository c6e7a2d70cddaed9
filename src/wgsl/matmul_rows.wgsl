// y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]) for small K, accumulated in f32.
// x [M, K] row-major, w [N, K] (Linear weights as checkpoints store them), y rows of stride ldy.
// Lanes over M: one invocation computes a TM×TN block of y over the WHOLE of K, so there is no
// cross-lane reduction; a workgroup is WG such blocks stacked over m (WG·TM rows × TN columns).
//
// Why not matmul_reg (lanes over K) here: with K = 32..48 and 8 lanes, each lane runs 4..6 steps
// and then the workgroup reduces a whole TM×TN tile across lanes (a subgroupAdd or a workgroup-memory
// round trip and a barrier per output): the reduction costs more than the products. Here each step
// loads TM + TN vectors (V k-values each; per-lane loads are the cost on lavapipe, ~5 cycles each
// whatever their width) for TM·TN·V FMAs, and the tile stays in registers (TM·TN scalar sums).
//
// Text defines (set by src/ops/matmul_rows.ts):
//   TM, TN, WG      rows and columns of y per invocation, invocations per workgroup (over m)
//   XS, WS, XV      storage types of x and w, the f32 vector one load widens to (V k-values)
//   LDX, LDW        widening loads x[i] / w[i] -> XV
//   DOT             the dot product of two XVs a and b (a * b for scalars)
//   YT              storage type of y (f32 or f16)
//   BIAS, BIAS_DECL bias of output column n (0.0 when there is none), its binding (5) or empty
// Params: M, N (rows of x, of this weight part), KV = K / V (vectors per row), ldy (y row stride),
// ycol0 (first y column written), bcol0 (first bias element used).
// Workgroups: x over column blocks of TN, y over row blocks of WG·TM.

#include linear_io

const TM = {{TM}}u;
const TN = {{TN}}u;
const WG = {{WG}}u;

fn dotv(a: XV, b: XV) -> f32 { return {{DOT}}; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = (wid.y * WG + lid) * TM;
  let n0 = wid.x * TN;
  // Rows and columns past the end are clamped to the last one (computed, never stored): the loop
  // has no branch and every lane runs the same steps.
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(m0 + i, p.M - 1u) * p.KV; }
  for (var j = 0u; j < TN; j++) { wr[j] = min(n0 + j, p.N - 1u) * p.KV; }

  var acc = array<array<f32, TN>, TM>(); // explicit zero: see the note in ops/matmul_rows.ts
  for (var k = 0u; k < p.KV; k++) {
    var xv: array<XV, TM>;
    var wv: array<XV, TN>;
    for (var i = 0u; i < TM; i++) { xv[i] = ldx(xr[i] + k); }
    for (var j = 0u; j < TN; j++) { wv[j] = ldw(wr[j] + k); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i][j] += dotv(xv[i], wv[j]); }
    }
  }

  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      let m = m0 + i;
      let n = n0 + j;
      if (m < p.M && n < p.N) { y[m * p.ldy + p.ycol0 + n] = {{YT}}(acc[i][j] + bias_of(p.bcol0 + n)); }
    }
  }
}
