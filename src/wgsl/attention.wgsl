// Fused attention with online softmax (FlashAttention's recurrence, f32 math); no score matrix.
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D].
//   G = Hq / Hkv query heads share one KV head (GQA).
// Work split (lavapipe: a workgroup is one CPU thread, invocations are SIMD lanes, barriers cost):
//   * one invocation = one (query row r, head-in-group hg) pair: f = r·G + hg, 0 <= f < rows = Lq·G;
//     it keeps its q row and its output accumulator in registers;
//   * one workgroup = WG consecutive pairs of ONE KV head g = wid.z, so every lane reads the same
//     key and value rows: the K/V addresses are workgroup-uniform (scalar loads, no gathers) and
//     the kernel needs no workgroup memory and no barrier at all;
//   * wid.y = key chunk c: keys [c·chunk, (c+1)·chunk). With one chunk (`main`) the output is
//     written directly; with several (`main_split`, decode and other small-row cases) each chunk
//     writes its unnormalised accumulator and (m, l), merged by attention_combine.wgsl.
//   Keys are visited KB = 4 at a time: one online-softmax rescale per 4 keys, and each q/acc
//   register is loaded once per 4 FMAs. Causal masking is per lane (select), the loop bound is the
//   causal limit of the workgroup's last row, so control flow stays uniform.
// The loops over the head dim run to the uniform p.nv, not the constant NV, so that they are not
// unrolled: unrolled, lavapipe's LLVM took 27 s to compile D = 128 (10 s for 72), for no speed-up.
// Defines (ops/vector.ts vecSpec): ST the storage vector of `width` elements (f32: vec4<f32>,
//   vec2<f32>, f32; f16: vec2<u32> or u32 holding packed halves, unpacked with unpack2x16float,
//   which lavapipe compiles far better than native f16 loads), VT the f32 vector of that width,
//   LOAD / STORE the conversions of a value a (ST -> VT, VT -> ST), NV = D / width, DOT a·b in VT.
// Override: WG workgroup size.

#include attention_io

// main_split: unnormalised partial outputs [nchunks, Hkv, rows, D] and their (m, l) [nchunks, Hkv, rows],
// bound in place of o.
@group(0) @binding(4) var<storage, read_write> part_acc: array<{{VT}}>;
@group(0) @binding(5) var<storage, read_write> part_ml: array<vec2<f32>>;

override WG: u32 = 64u;

var<private> qr: array<{{VT}}, NV>;
var<private> acc: array<{{VT}}, NV>;

struct Pair { f: u32, r: u32, h: u32 }

fn pair_of(wid: vec3<u32>, lid: u32) -> Pair {
  // Lanes past the end duplicate the last pair (no divergent exit); their store is skipped.
  let f = min(wid.x * WG + lid, p.rows - 1u);
  let r = f / p.G;
  return Pair(f, r, wid.z * p.G + f % p.G);
}

// Runs the online softmax over this workgroup's keys; leaves acc in registers, returns (m, l).
fn attend(wid: vec3<u32>, pr: Pair) -> vec2<f32> {
  let g = wid.z;
  let qb = (pr.r * p.Hq + pr.h) * NV;
  for (var i = 0u; i < p.nv; i++) {
    qr[i] = ld(q[qb + i]) * p.scale;
    acc[i] = {{VT}}(0.0);
  }
  // Uniform key range: the chunk, cut at the causal limit of the workgroup's last row.
  let kbeg = wid.y * p.chunk;
  var kend = min(p.kv_len, kbeg + p.chunk);
  // Per-lane limit: keys >= own_end are masked.
  var own_end = kend;
  if (p.causal != 0u) {
    let r_last = min(wid.x * WG + WG - 1u, p.rows - 1u) / p.G;
    kend = min(kend, p.q_offset + r_last + 1u);
    own_end = min(kend, p.q_offset + pr.r + 1u);
  }
  var m = NEG;
  var l = 0.0;
  let kv0 = g * p.Lmax;
  for (var j0 = kbeg; j0 < kend; j0 += 4u) {
    let j = vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u);
    let jc = min(j, vec4<u32>(kend - 1u)); // the tail block re-reads the last key, masked below
    let b0 = (kv0 + jc.x) * NV;
    let b1 = (kv0 + jc.y) * NV;
    let b2 = (kv0 + jc.z) * NV;
    let b3 = (kv0 + jc.w) * NV;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < p.nv; i++) {
      let qi = qr[i];
      s += vec4<f32>(dotv(qi, ld(k[b0 + i])), dotv(qi, ld(k[b1 + i])),
                     dotv(qi, ld(k[b2 + i])), dotv(qi, ld(k[b3 + i])));
    }
    let masked = j >= vec4<u32>(own_end);
    s = select(s, vec4<f32>(NEG), masked);
    let m_new = max(m, max(max(s.x, s.y), max(s.z, s.w)));
    let alpha = exp2(m - m_new);
    let e = select(exp2(s - m_new), vec4<f32>(0.0), masked);
    l = l * alpha + (e.x + e.y) + (e.z + e.w);
    m = m_new;
    for (var i = 0u; i < p.nv; i++) {
      acc[i] = acc[i] * alpha + e.x * ld(v[b0 + i]) + e.y * ld(v[b1 + i])
                              + e.z * ld(v[b2 + i]) + e.w * ld(v[b3 + i]);
    }
  }
  return vec2<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let pr = pair_of(wid, lid);
  let ml = attend(wid, pr);
  if (wid.x * WG + lid >= p.rows) { return; }
  let inv_l = 1.0 / ml.y;
  let ob = (pr.r * p.Hq + pr.h) * NV;
  for (var i = 0u; i < p.nv; i++) {
    o[ob + i] = st(acc[i] * inv_l);
  }
}

@compute @workgroup_size(WG)
fn main_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let pr = pair_of(wid, lid);
  let ml = attend(wid, pr);
  if (wid.x * WG + lid >= p.rows) { return; }
  let row = (wid.y * nwg.z + wid.z) * p.rows + pr.f; // [nchunks, Hkv, rows]
  part_ml[row] = ml;
  for (var i = 0u; i < p.nv; i++) {
    part_acc[row * NV + i] = acc[i];
  }
}
