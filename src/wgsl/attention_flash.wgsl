// Fused attention for GPUs (FlashAttention's tiling, online softmax in f32): a block of queries
// shares each K/V tile staged in workgroup memory.
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D].
//   G = Hq / Hkv query heads share one KV head (GQA); a (query row r, head-in-group hg) pair is
//   f = r·G + hg, 0 <= f < rows = Lq·G, as in attention.wgsl.
// Work split:
//   * workgroup = BQ consecutive pairs of ONE KV head g = wid.z, WG = BQ·TPQ invocations;
//   * TPQ invocations per pair, each owning the head-dim slice {t, t + TPQ, t + 2·TPQ, ...} (NVT
//     vectors) of q and of the output accumulator, in registers;
//   * per tile of BK keys: the workgroup loads the K and V rows once (coalesced: consecutive
//     invocations, consecutive vectors) into workgroup memory; each invocation dots its q slice with
//     every key of the tile, the TPQ partial dots of a pair are summed through workgroup memory,
//     then every invocation of the pair runs the same online-softmax step and updates its slice.
//   Keys past the tile's end or kv_len are never read (zeros in the tile, masked scores).
//   Causal: the tiles stop at the causal limit of the workgroup's last pair (barriers stay uniform);
//   each pair masks keys past its own position.
// Defines (ops/vector.ts vecSpec): ST, VT, LOAD, STORE, DOT, NV; BQ, TPQ, BK (ops/attention_flash.ts
// sizes the tiles to the adapter's workgroup memory).

#include attention_io

const BQ: u32 = {{BQ}}u;
const TPQ: u32 = {{TPQ}}u;
const BK: u32 = {{BK}}u;
const WG: u32 = BQ * TPQ;
const NVT: u32 = (NV + TPQ - 1u) / TPQ; // vectors of the head dim an invocation owns

var<workgroup> kt: array<{{VT}}, BK * NV>;      // the tile's keys [BK, NV]
var<workgroup> vt: array<{{VT}}, BK * NV>;      // and values
var<workgroup> part: array<f32, BK * WG>;       // partial dots [BK, WG]: lanes write consecutive words (no bank conflicts)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let qi = lid / TPQ; // the pair in the block
  let t = lid % TPQ;  // the slice of the head dim
  // Pairs past the end duplicate the last one (every invocation reaches every barrier); no store.
  let f = min(wid.x * BQ + qi, p.rows - 1u);
  let row = f / p.G;
  let qb = (row * p.Hq + g * p.G + f % p.G) * NV;
  var qr: array<{{VT}}, NVT>;
  var acc = array<{{VT}}, NVT>(); // explicit zero (Dawn + lavapipe: see ops/matmul_rows.ts)
  for (var u = 0u; u < NVT; u++) {
    let i = t + u * TPQ;
    if (i < NV) { qr[u] = ld(q[qb + i]) * p.scale; }
  }
  var own_end = p.kv_len;
  var kend = p.kv_len;
  if (p.causal != 0u) {
    own_end = min(p.kv_len, p.q_offset + row + 1u);
    let f_last = min(wid.x * BQ + BQ - 1u, p.rows - 1u);
    kend = min(kend, p.q_offset + f_last / p.G + 1u);
  }
  var m = NEG;
  var l = 0.0;
  let kv0 = g * p.Lmax;
  for (var j0 = 0u; j0 < kend; j0 += BK) {
    // Stage the tile: K and V rows j0..j0+BK-1 (zeros past kend).
    for (var e = lid; e < BK * NV; e += WG) {
      let j = j0 + e / NV;
      let src = (kv0 + min(j, kend - 1u)) * NV + e % NV;
      let inside = j < kend;
      kt[e] = select({{VT}}(0.0), ld(k[src]), inside);
      vt[e] = select({{VT}}(0.0), ld(v[src]), inside);
    }
    workgroupBarrier();
    // Partial dots of this slice with every key of the tile.
    for (var c = 0u; c < BK; c++) {
      var s = 0.0;
      for (var u = 0u; u < NVT; u++) {
        let i = t + u * TPQ;
        if (i < NV) { s += dotv(qr[u], kt[c * NV + i]); }
      }
      part[c * WG + lid] = s;
    }
    workgroupBarrier();
    // Every invocation of the pair sums the same partials: identical scores, identical m and l.
    var sc: array<f32, BK>;
    var m_new = m;
    for (var c = 0u; c < BK; c++) {
      var s = 0.0;
      for (var tt = 0u; tt < TPQ; tt++) { s += part[c * WG + qi * TPQ + tt]; }
      sc[c] = select(s, NEG, j0 + c >= own_end);
      m_new = max(m_new, sc[c]);
    }
    let alpha = exp2(m - m_new);
    var esum = 0.0;
    for (var u = 0u; u < NVT; u++) { acc[u] *= alpha; }
    for (var c = 0u; c < BK; c++) {
      let e = select(exp2(sc[c] - m_new), 0.0, j0 + c >= own_end);
      esum += e;
      for (var u = 0u; u < NVT; u++) {
        let i = t + u * TPQ;
        if (i < NV) { acc[u] += e * vt[c * NV + i]; }
      }
    }
    l = l * alpha + esum;
    m = m_new;
    workgroupBarrier(); // the next tile overwrites kt, vt and part
  }
  if (wid.x * BQ + qi < p.rows) {
    let inv_l = 1.0 / l;
    for (var u = 0u; u < NVT; u++) {
      let i = t + u * TPQ;
      if (i < NV) { o[qb + i] = st(acc[u] * inv_l); }
    }
  }
}
