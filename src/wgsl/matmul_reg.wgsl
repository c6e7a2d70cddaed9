// y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]), accumulated in f32.
// x [M, K] row-major, w [N, K] (Linear weights as checkpoints store them), y rows of stride ldy.
// One workgroup computes a TM×TN output tile; its WG lanes split K between them (lane l takes the
// vectors l, l+WG, ...), each keeping the whole TM×TN tile of partial sums in registers; one
// cross-lane reduction at the end (subgroupAdd where available, else workgroup memory).
//
// Why lanes over k and not over n: lavapipe runs a workgroup's invocations as SIMD lanes on one
// CPU thread, and every per-lane load is a scalarized gather (~5 cycles an element) while an FMA
// costs a fraction of a cycle; so the cost is the number of elements loaded per FMA. Lanes over k
// need no broadcast of x across lanes (which costs a shuffle per value) and read consecutive
// addresses (coalesced on real GPUs); TM·TN FMAs per TM+TN loads. The i/j loops have constant
// trip counts and are unrolled by the compiler (the tile lives in registers); keep TM·TN <= ~144,
// beyond which NIR stops unrolling and the tile falls to scratch memory (4x slower, measured).
// Used with TM = M (1..4) as the GEMV for decode: on lavapipe 8 lanes and TN = 8; on GPUs wide
// workgroups (64-256 lanes over K, coalesced vec4 loads of the weight rows, a few columns each),
// whose cross-lane sums are a subgroupAdd and then a parallel halving in workgroup memory.
//
// Text defines (set by src/ops/matmul.ts):
//   TM, TN, WG      tile rows (m), tile columns (n), lanes per workgroup (over k)
//   XS, WS, BS      storage element types of x, w, bias (f32, vec2<f32>, vec4<f32>, f16, u32, vec2<u32>)
//   XV              f32 type one load of x or w widens to: f32, vec2<f32> or vec4<f32> (V k-values)
//   LDX, LDW        expressions widening x[i] / w[i] to XV (e.g. unpack2x16float for packed f16)
//   HSUM            expression summing the components of an XV named v
//   YT              storage type of y (f32 or f16)
//   BIAS            expression for the bias of output column n (0.0 when there is none)
//   BIAS_DECL       the bias binding (5), or empty
//   RED_DECL, RED   extra builtins and the per-output store of the cross-lane reduction, given
//                   v = hsum(acc[i][j]) and slot (i*TN+j)*WG + lid: subgroupAdd or plain
// Params: M, N (rows of this weight part), KV = K / V (vectors per row), ldy (y row stride),
// ycol0 (first y column written), bcol0 (first bias element used).

#include linear_io

const TM = {{TM}}u;
const TN = {{TN}}u;
const WG = {{WG}}u;
const LEAVES = min(WG, 8u);

fn hsum(v: XV) -> f32 { return {{HSUM}}; }

// Partial sums of the tile, one slot per lane (workgroup path) or per subgroup (subgroup path).
var<workgroup> red: array<f32, TM * TN * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32 {{RED_DECL}}) {
  // wid.x runs over column tiles, wid.y over row tiles (ops/matmul.ts keeps both within limits).
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  // Rows past the end are clamped to the last one (computed, never stored): no branch in the loop.
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(m0 + i, p.M - 1u) * p.KV; }
  for (var j = 0u; j < TN; j++) { wr[j] = min(n0 + j, p.N - 1u) * p.KV; }

  var acc: array<array<XV, TN>, TM>;
  for (var k = lid; k < p.KV; k += WG) {
    var xv: array<XV, TM>;
    var wv: array<XV, TN>;
    for (var i = 0u; i < TM; i++) { xv[i] = ldx(xr[i] + k); }
    for (var j = 0u; j < TN; j++) { wv[j] = ldw(wr[j] + k); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i][j] = fma(xv[i], wv[j], acc[i][j]); }
    }
  }

  // Each lane leaves its share of every output in red[o*WG + lid]: its own partial sum
  // (workgroup path), or its subgroup's sum if it leads the subgroup and 0 otherwise (subgroup
  // path; slot = lane, so it holds whatever the adapter's subgroup size and layout).
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) { {{RED}} }
  }
  workgroupBarrier();
  // Wide workgroups (GPUs; WG a power of two) first halve the slots in parallel down to LEAVES,
  // one barrier a level; then LEAVES slots are summed serially (all of them when WG <= 8).
  for (var h = WG / 2u; h >= LEAVES; h /= 2u) {
    if (lid < h) {
      for (var o = 0u; o < TM * TN; o++) { red[o * WG + lid] += red[o * WG + lid + h]; }
    }
    workgroupBarrier();
  }
  for (var o = lid; o < TM * TN; o += WG) {
    var s = 0.0;
    for (var l = 0u; l < LEAVES; l++) { s += red[o * WG + l]; }
    let m = m0 + o / TN;
    let n = n0 + o % TN;
    if (m < p.M && n < p.N) {
      y[m * p.ldy + p.ycol0 + n] = {{YT}}(s + bias_of(p.bcol0 + n));
    }
  }
}
