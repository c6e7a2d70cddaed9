// y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]), accumulated in f32, with BOTH
// operands loaded once per subgroup and shared by subgroupBroadcast.
// x [M, K] row-major, w [N, K], y rows of stride ldy. K is read in vectors of V k-values (KV = K / V).
//
// A workgroup is one subgroup of 8 lanes and owns an (8·TM)-row × TN-column block of y. Lane l owns
// rows m0 + l + 8i (i < TM) and all TN columns of the block. Each step of k:
//   - lane l loads vector k of each of its TM x rows (kept in registers: it is the only user) and
//     vector k of W rows n0 + l + 8g (g < TN / 8): one per-lane load of W feeds 8 lanes;
//   - for each of the block's TN columns, the lane that loaded it broadcasts it, and every lane
//     adds dot(x_own[i], w_col) into its TM scalar sums.
// Per lane and step: TM + TN/8 per-lane loads, TN broadcasts, TM·TN vector FMAs (dot form) and
// TM·TN scalar sums. Why: on lavapipe a per-lane load costs ~5× a broadcast (bench kernels
// --filter loads.) and a lane is one SIMD lane of a CPU thread; matmul_rows (lanes over rows) makes
// TM + TN per-lane loads for the same TM·TN FMAs, matmul_bcast shares only x.
// Tiles (bench kernels --filter matmul.roof): 4×16 and 4×24 win on lavapipe; 128 sums (4×32, 8×16)
// spill and run 2–3× slower, and two k-steps an iteration ran 2–3× slower than one.
// Needs subgroups of at least 8 lanes, so that the 8 invocations of a workgroup share one subgroup.
//
// Text defines (set by src/ops/matmul_subgroup.ts): TM, TN (a multiple of 8), DOT (dot of two XVs
// a and b: a * b for scalars) and the include/linear_io defines.
// Params: M, N, KV, ldy, ycol0, bcol0. Workgroups: x over column blocks of TN, y over row blocks of 8·TM.

#include linear_io
#include lane_broadcast

const TM = {{TM}}u;
const TN = {{TN}}u;
const SG = 8u;
const G = TN / SG; // W rows each lane loads a step

fn dotv(a: XV, b: XV) -> f32 { return {{DOT}}; }

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * SG * TM + lid;
  let n0 = wid.x * TN;
  // Rows and columns past the end are clamped to the last one (computed, never stored): every
  // lane runs the same steps, as the broadcasts need.
  var xr: array<u32, TM>;
  var wr: array<u32, G>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(m0 + i * SG, p.M - 1u) * p.KV; }
  for (var g = 0u; g < G; g++) { wr[g] = min(n0 + g * SG + lid, p.N - 1u) * p.KV; }

  var acc = array<array<f32, TN>, TM>(); // explicit zero: see the note in ops/matmul_rows.ts
  for (var k = 0u; k < p.KV; k++) {
    var xv: array<XV, TM>;
    for (var i = 0u; i < TM; i++) { xv[i] = ldx(xr[i] + k); }
    for (var g = 0u; g < G; g++) {
      let wv = ldw(wr[g] + k); // W row n0 + 8g + lid
      for (var c = 0u; c < SG; c++) {
        let wc = from_lane(wv, c); // W row n0 + 8g + c, in every lane
        for (var i = 0u; i < TM; i++) { acc[i][g * SG + c] += dotv(xv[i], wc); }
      }
    }
  }

  for (var i = 0u; i < TM; i++) {
    let m = m0 + i * SG;
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (m < p.M && n < p.N) { y[m * p.ldy + p.ycol0 + n] = {{YT}}(acc[i][j] + bias_of(p.bcol0 + n)); }
    }
  }
}
