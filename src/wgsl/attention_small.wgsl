// Register-tiled fused attention, online softmax in f32: for the demo model's head dims (16, 24)
// with QR = 8, and for the real ones (72, 128) with fewer pairs an invocation (QR = 2).
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D].
//   G = Hq / Hkv query heads share one KV head (GQA); a (query row r, head-in-group hg) pair is
//   f = r·G + hg, 0 <= f < rows = Lq·G, as in attention.wgsl.
// Differences from attention.wgsl (one pair an invocation, any head dim, keys split for decode):
//   * every loop over the head dim is unrolled (NV is a constant), so q, the accumulators and the
//     key/value rows are registers; attention.wgsl keeps them in arrays indexed by a uniform loop
//     counter (unrolling D = 128 took lavapipe 27 s to compile), which lavapipe lowers to per-lane
//     scratch memory: for D = 16 that is more loads and stores than arithmetic;
//   * one invocation owns QR pairs (QR consecutive f), so each key and value vector serves QR rows;
//   * keys are visited KB at a time, one head-dim vector at a time: the block's KB key (then value)
//     vectors at one head-dim index are fetched once and used by all QR pairs; one online-softmax
//     rescale per KB keys. Scores are FMAs of q's components with the block's keys transposed
//     (4 keys a vec4), values FMAs of the weights with the value vectors: no dot products, whose
//     horizontal sums lavapipe compiles as separate multiplies and adds;
//   * no key split (there are many rows in this shape class: vision and prefill);
//   * SHARE lanes may share each block's loads: with SHARE = 8 (one lavapipe subgroup) lane l loads
//     keys j0 + l, j0 + l + 8, ... and subgroupBroadcast hands every lane all KB of them. lavapipe
//     runs a load inside a loop as one bounds-checked scalar load per lane and component, even when
//     every lane reads the same address (bench kernels --filter loads.: ~5× a broadcast), so the
//     kernel's loads drop 8× for the same FMAs. SHARE = 1: every lane loads the whole block.
// Workgroup = WG invocations over consecutive pairs of ONE KV head g = wid.z: every lane needs the
// same K/V blocks. Causal masking is per pair (select), the loop bound is the causal limit of
// the workgroup's last pair, so control flow stays uniform (every lane takes part in every
// broadcast, also for pairs past the end and keys past kv_len, which are masked).
// Defines (ops/attention.ts vecSpec): ST, VT, LOAD, STORE, DOT, NV as in attention.wgsl; W (VT's
// components), COMP (component e of a VT a); QR; KB (a multiple of 4 and of SHARE); SHARE;
// FROM_LANE, the body of from_lane (ops/attention_small.ts).
// Override: WG workgroup size (= SHARE when SHARE > 1: the workgroup is one subgroup).

#include attention_io

override WG: u32 = 8u;
const QR: u32 = {{QR}}u;
const KB: u32 = {{KB}}u;
const KB4: u32 = KB / 4u;
const SHARE: u32 = {{SHARE}}u; // lanes sharing each block's loads
const KL: u32 = KB / SHARE;    // keys a lane loads per block

alias Row = array<{{VT}}, NV>;
alias Block = array<vec4<f32>, KB4>; // one pair's scores (then weights) for the KB keys

// Lane c's v, in every lane (SHARE > 1: subgroupBroadcast, whose lane must be a constant: a switch
// that folds away in the unrolled loops), or v itself (SHARE = 1).
fn from_lane(v: {{VT}}, c: u32) -> {{VT}} {
  {{FROM_LANE}}
}

// All KB vectors of a block from the KL each lane loaded: key c of the block is lane c % SHARE's
// own[c / SHARE]. Every lane takes part, whatever its rows (uniform control flow).
fn share(own: array<{{VT}}, KL>) -> array<{{VT}}, KB> {
  var out: array<{{VT}}, KB>;
  for (var c = 0u; c < KB; c++) { out[c] = from_lane(own[c / SHARE], c % SHARE); }
  return out;
}

const W: u32 = {{W}}u; // components of VT
fn comp(a: {{VT}}, e: u32) -> f32 { return {{COMP}}; }

// Which of keys j..j+3 a pair whose keys end at own_end must not see.
fn masked(j: u32, own_end: u32) -> vec4<bool> { return vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(own_end); }

// The invocation's state, private so that the steps below can be functions.
var<private> qr: array<Row, QR>;    // its pairs' queries, times scale
var<private> acc: array<Row, QR>;   // Σ weight·v so far
var<private> s: array<Block, QR>;   // the block's scores, then weights
var<private> alpha: array<f32, QR>; // the block's rescale of acc
var<private> key_row: array<u32, KL>; // the rows of the keys this lane loads for the block

// The block's KB key (or value) vectors at head-dim index i: this lane loads KL of them, share()
// hands every lane all KB.
fn block_k(i: u32) -> array<{{VT}}, KB> {
  var own: array<{{VT}}, KL>;
  for (var t = 0u; t < KL; t++) { own[t] = ld(k[key_row[t] + i]); }
  return share(own);
}
fn block_v(i: u32) -> array<{{VT}}, KB> {
  var own: array<{{VT}}, KL>;
  for (var t = 0u; t < KL; t++) { own[t] = ld(v[key_row[t] + i]); }
  return share(own);
}

// s += q·k over head-dim vectors i0, i0 + 8, ... (< NV). One component e at a time with the block's
// keys transposed (4 keys a vec4): each update is an FMA with q's component e splat, no horizontal sums.
fn scores_step(i0: u32) {
  for (var i = i0; i < NV; i += 8u) {
    let kc = block_k(i);
    for (var e = 0u; e < W; e++) {
      var kt: array<vec4<f32>, KB4>;
      for (var c4 = 0u; c4 < KB4; c4++) {
        let c = 4u * c4;
        kt[c4] = vec4<f32>(comp(kc[c], e), comp(kc[c + 1u], e), comp(kc[c + 2u], e), comp(kc[c + 3u], e));
      }
      for (var r = 0u; r < QR; r++) {
        let qe = vec4<f32>(comp(qr[r][i], e));
        for (var c4 = 0u; c4 < KB4; c4++) { s[r][c4] = fma(qe, kt[c4], s[r][c4]); }
      }
    }
  }
}

// acc = acc·alpha + Σ_c weight_c·v_c over head-dim vectors i0, i0 + 8, ... (< NV).
fn values_step(i0: u32) {
  for (var i = i0; i < NV; i += 8u) {
    let vc = block_v(i);
    for (var r = 0u; r < QR; r++) {
      var a = acc[r][i] * alpha[r];
      for (var c = 0u; c < KB; c++) { a = fma({{VT}}(s[r][c / 4u][c % 4u]), vc[c], a); }
      acc[r][i] = a;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let lane = lid % SHARE;
  let f0 = (wid.x * WG + lid) * QR;
  var m: array<f32, QR>;
  var l = array<f32, QR>();
  var own_end: array<u32, QR>;
  acc = array<Row, QR>(); // explicit zero (Dawn + lavapipe: see ops/matmul_rows.ts)
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
    // This lane's keys j0 + t·SHARE + lane; the tail block re-reads the last key, masked below.
    for (var t = 0u; t < KL; t++) { key_row[t] = (kv0 + min(j0 + t * SHARE + lane, kend - 1u)) * NV; }
    // The head-dim steps are written out, not looped: lavapipe's compiler unrolls a loop only while
    // the unrolled code stays under ~830 instructions. One step's loops fit; all NV steps at QR·KB
    // of 32 or more do not, and a loop left rolled puts q, s and acc in per-lane scratch memory
    // (a bounds-checked load per lane and access). NV is a constant: the ifs fold away.
    s = array<Block, QR>();
    scores_step(0u);
    if (NV > 1u) { scores_step(1u); } if (NV > 2u) { scores_step(2u); } if (NV > 3u) { scores_step(3u); }
    if (NV > 4u) { scores_step(4u); } if (NV > 5u) { scores_step(5u); } if (NV > 6u) { scores_step(6u); }
    if (NV > 7u) { scores_step(7u); }
    // Online softmax: new maxima, weights (0 where masked), rescale factors alpha.
    for (var r = 0u; r < QR; r++) {
      var m_new = m[r];
      for (var c4 = 0u; c4 < KB4; c4++) {
        s[r][c4] = select(s[r][c4], vec4<f32>(NEG), masked(j0 + 4u * c4, own_end[r]));
        // compare-and-select: lavapipe's float max() is a slow NaN-aware sequence (bench kernels --filter rows.)
        let h = select(s[r][c4].xy, s[r][c4].zw, s[r][c4].zw > s[r][c4].xy);
        let b = select(h.x, h.y, h.y > h.x);
        m_new = select(m_new, b, b > m_new);
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
    values_step(0u);
    if (NV > 1u) { values_step(1u); } if (NV > 2u) { values_step(2u); } if (NV > 3u) { values_step(3u); }
    if (NV > 4u) { values_step(4u); } if (NV > 5u) { values_step(5u); } if (NV > 6u) { values_step(6u); }
    if (NV > 7u) { values_step(7u); }
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
