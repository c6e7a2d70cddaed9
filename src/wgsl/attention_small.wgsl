// Fused attention for small head dims (D <= 32: the demo model's 16 and 24), online softmax in f32.
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D].
//   G = Hq / Hkv query heads share one KV head (GQA); a (query row r, head-in-group hg) pair is
//   f = r·G + hg, 0 <= f < rows = Lq·G, as in attention.wgsl.
// Differences from attention.wgsl, which is built for D = 72..128:
//   * every loop over the head dim is unrolled (NV is a constant), so q, the accumulators and the
//     key/value rows are registers; attention.wgsl keeps them in arrays indexed by a uniform loop
//     counter (unrolling D = 128 took lavapipe 27 s to compile), which lavapipe lowers to per-lane
//     scratch memory: for D = 16 that is more loads and stores than arithmetic;
//   * one invocation owns QR pairs (QR consecutive f), so each key and value vector it loads serves
//     QR rows: QR FMAs per (workgroup-uniform) load instead of 1;
//   * keys are visited KB at a time, and the loops run head-dim vector outermost: the KB key (then
//     value) vectors at one head-dim index are loaded once and used by all QR pairs, and each
//     accumulator vector is read, rescaled and updated with KB values in one go (on lavapipe the
//     accumulators of QR·NV vectors live in stack memory: one load and one store per KB FMAs);
//     one online-softmax rescale per KB keys;
//   * no key split (there are many rows in this shape class: vision and prefill).
// Workgroup = WG invocations over consecutive pairs of ONE KV head g = wid.z: the K/V addresses
// are workgroup-uniform. Causal masking is per pair (select), the loop bound is the causal limit of
// the workgroup's last pair, so control flow stays uniform.
// Defines (ops/attention.ts vecSpec): ST, VT, LOAD, STORE, DOT, NV as in attention.wgsl; QR; KB (a
// multiple of 4). Override: WG workgroup size.

#include attention_io

override WG: u32 = 8u;
const QR: u32 = {{QR}}u;
const KB: u32 = {{KB}}u;
const KB4: u32 = KB / 4u;

alias Row = array<{{VT}}, NV>;
alias Block = array<vec4<f32>, KB4>; // one pair's scores (then weights) for the KB keys

// Which of keys j..j+3 a pair whose keys end at own_end must not see.
fn masked(j: u32, own_end: u32) -> vec4<bool> { return vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(own_end); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let f0 = (wid.x * WG + lid) * QR;
  var qr: array<Row, QR>;
  var acc = array<Row, QR>(); // explicit zero (Dawn + lavapipe: see ops/matmul_rows.ts)
  var m: array<f32, QR>;
  var l = array<f32, QR>();
  var own_end: array<u32, QR>;
  for (var r = 0u; r < QR; r++) {
    // Pairs past the end duplicate the last one (no divergent exit); their store is skipped.
    let f = min(f0 + r, p.rows - 1u);
    let row = f / p.G;
    let qb = (row * p.Hq + g * p.G + f % p.G) * NV;
    for (var i = 0u; i < NV; i++) { qr[r][i] = ld(q[qb + i]) * p.scale; }
    m[r] = NEG;
    own_end[r] = select(p.kv_len, min(p.kv_len, p.q_offset + row + 1u), p.causal != 0u);
  }
  // Uniform key range: all keys, cut at the causal limit of the workgroup's last pair.
  var kend = p.kv_len;
  if (p.causal != 0u) {
    let f_last = min((wid.x * WG + WG) * QR - 1u, p.rows - 1u);
    kend = min(kend, p.q_offset + f_last / p.G + 1u);
  }
  let kv0 = g * p.Lmax;
  for (var j0 = 0u; j0 < kend; j0 += KB) {
    var b: array<u32, KB>; // the block's key rows; the tail block re-reads the last key, masked below
    for (var c = 0u; c < KB; c++) { b[c] = (kv0 + min(j0 + c, kend - 1u)) * NV; }
    // Scores s[r] of the QR pairs with the KB keys.
    var s = array<Block, QR>(); // explicit zero, as acc
    for (var i = 0u; i < NV; i++) {
      var kc: array<{{VT}}, KB>;
      for (var c = 0u; c < KB; c++) { kc[c] = ld(k[b[c] + i]); }
      for (var r = 0u; r < QR; r++) {
        for (var c4 = 0u; c4 < KB4; c4++) {
          let c = 4u * c4;
          s[r][c4] += vec4<f32>(dotv(qr[r][i], kc[c]), dotv(qr[r][i], kc[c + 1u]), dotv(qr[r][i], kc[c + 2u]), dotv(qr[r][i], kc[c + 3u]));
        }
      }
    }
    // Online softmax: new maxima, weights e (0 where masked), rescale factors alpha.
    var alpha: array<f32, QR>;
    for (var r = 0u; r < QR; r++) {
      var m_new = m[r];
      for (var c4 = 0u; c4 < KB4; c4++) {
        s[r][c4] = select(s[r][c4], vec4<f32>(NEG), masked(j0 + 4u * c4, own_end[r]));
        m_new = max(m_new, max(max(s[r][c4].x, s[r][c4].y), max(s[r][c4].z, s[r][c4].w)));
      }
      alpha[r] = exp2(m[r] - m_new);
      var sum = 0.0;
      for (var c4 = 0u; c4 < KB4; c4++) {
        s[r][c4] = select(exp2(s[r][c4] - m_new), vec4<f32>(0.0), masked(j0 + 4u * c4, own_end[r]));
        sum += (s[r][c4].x + s[r][c4].y) + (s[r][c4].z + s[r][c4].w);
      }
      l[r] = l[r] * alpha[r] + sum;
      m[r] = m_new;
    }
    // acc = acc·alpha + Σ_c e_c·v_c, one head-dim vector at a time.
    for (var i = 0u; i < NV; i++) {
      var vc: array<{{VT}}, KB>;
      for (var c = 0u; c < KB; c++) { vc[c] = ld(v[b[c] + i]); }
      for (var r = 0u; r < QR; r++) {
        var a = acc[r][i] * alpha[r];
        for (var c4 = 0u; c4 < KB4; c4++) {
          let e = s[r][c4];
          let c = 4u * c4;
          a += e.x * vc[c] + e.y * vc[c + 1u] + e.z * vc[c + 2u] + e.w * vc[c + 3u];
        }
        acc[r][i] = a;
      }
    }
  }
  for (var r = 0u; r < QR; r++) {
    let f = f0 + r;
    if (f < p.rows) {
      let ob = ((f / p.G) * p.Hq + g * p.G + f % p.G) * NV;
      let inv_l = 1.0 / l[r];
      for (var i = 0u; i < NV; i++) { o[ob + i] = st(acc[r][i] * inv_l); }
    }
  }
}
