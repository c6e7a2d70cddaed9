// Fused attention for small head dims (D <= 32: the demo model's 16 and 24), online softmax in f32.
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D].
//   G = Hq / Hkv query heads share one KV head (GQA); a (query row r, head-in-group hg) pair is
//   f = r·G + hg, 0 <= f < rows = Lq·G, as in attention.wgsl.
// Differences from attention.wgsl, which is built for D = 72..128:
//   * every loop over the head dim is unrolled (NV is a constant), so q, the accumulators and the
//     key/value rows are registers; attention.wgsl keeps them in arrays indexed by a uniform loop
//     counter (unrolling D = 128 took lavapipe 27 s to compile), which lavapipe lowers to per-lane
//     scratch memory: for D = 16 that is more loads and stores than arithmetic;
//   * one invocation owns QR pairs (QR consecutive f), so each key and value row it loads serves
//     QR rows: QR·8·NV FMAs per 2·NV loads of a key and a value row, instead of 8·NV;
//   * no key split (there are many rows in this shape class: vision and prefill).
// Workgroup = WG invocations over consecutive pairs of ONE KV head g = wid.z: the K/V addresses
// are workgroup-uniform. Keys are visited KB = 4 at a time (one online-softmax rescale per 4 keys);
// causal masking is per pair (select), the loop bound is the causal limit of the workgroup's last
// pair, so control flow stays uniform.
// Defines (ops/attention.ts vecSpec): ST, VT, LOAD, STORE, DOT, NV as in attention.wgsl; QR.
// Override: WG workgroup size.

struct Params {
  rows: u32,     // Lq·G pairs per KV head
  G: u32,        // query heads per KV head
  Hq: u32,
  Lmax: u32,     // cache rows per KV head
  kv_len: u32,   // valid keys
  q_offset: u32, // position of query row 0 (causal)
  causal: u32,
  scale: f32,    // softmax scale · log2(e): scores in base 2
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<{{ST}}>;
@group(0) @binding(2) var<storage, read> k: array<{{ST}}>;
@group(0) @binding(3) var<storage, read> v: array<{{ST}}>;
@group(0) @binding(4) var<storage, read_write> o: array<{{ST}}>;

override WG: u32 = 8u;
const NV: u32 = {{NV}}u;
const QR: u32 = {{QR}}u;
const NEG: f32 = -1.0e30; // "no score yet": finite, so exp2(NEG - m) is 0 and never NaN

alias Row = array<{{VT}}, NV>;

fn dotv(a: {{VT}}, b: {{VT}}) -> f32 { return {{DOT}}; }
fn ld(a: {{ST}}) -> {{VT}} { return {{LOAD}}; }
fn st(a: {{VT}}) -> {{ST}} { return {{STORE}}; }

fn key(base: u32) -> Row {
  var r: Row;
  for (var i = 0u; i < NV; i++) { r[i] = ld(k[base + i]); }
  return r;
}

fn value(base: u32) -> Row {
  var r: Row;
  for (var i = 0u; i < NV; i++) { r[i] = ld(v[base + i]); }
  return r;
}

fn score(qv: Row, kr: Row) -> f32 {
  var s = 0.0;
  for (var i = 0u; i < NV; i++) { s += dotv(qv[i], kr[i]); }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let f0 = (wid.x * WG + lid) * QR;
  var qr: array<Row, QR>;
  var acc = array<Row, QR>(); // explicit zero (see ops/matmul_rows.ts)
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
  for (var j0 = 0u; j0 < kend; j0 += 4u) {
    let j = vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u);
    let b = (kv0 + min(j, vec4<u32>(kend - 1u))) * NV; // the tail block re-reads the last key, masked below
    let k0 = key(b.x);
    let k1 = key(b.y);
    let k2 = key(b.z);
    let k3 = key(b.w);
    var e: array<vec4<f32>, QR>;
    for (var r = 0u; r < QR; r++) {
      let masked = j >= vec4<u32>(own_end[r]);
      let s = select(vec4<f32>(score(qr[r], k0), score(qr[r], k1), score(qr[r], k2), score(qr[r], k3)), vec4<f32>(NEG), masked);
      let m_new = max(m[r], max(max(s.x, s.y), max(s.z, s.w)));
      let alpha = exp2(m[r] - m_new);
      e[r] = select(exp2(s - m_new), vec4<f32>(0.0), masked);
      l[r] = l[r] * alpha + (e[r].x + e[r].y) + (e[r].z + e[r].w);
      m[r] = m_new;
      for (var i = 0u; i < NV; i++) { acc[r][i] *= alpha; }
    }
    for (var c = 0u; c < 4u; c++) {
      let vr = value(b[c]);
      for (var r = 0u; r < QR; r++) {
        for (var i = 0u; i < NV; i++) { acc[r][i] += e[r][c] * vr[i]; }
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
