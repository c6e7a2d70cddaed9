// Quantizes a chunk of a checkpoint tensor into q8/q4 codes and group words (layout and rounding:
// src/core/quant.ts, whose quantizeGroups is this kernel's reference). One invocation per group of
// G values: min and max, scale = (max - min) / (2^BITS - 1) and offset = min rounded to f16 (the
// group word), then codes = clamp(floor((w - offset) / scale + 0.5), 0, 2^BITS - 1), packed.
// Runs on the GPU because quantizing ~8 B weights in JavaScript takes longer than reading them.
//
// Why the group is read once, as vec4<u32> words, into registers: on lavapipe every per-lane load
// is a scalarized gather, so loads, not arithmetic, bound this kernel. Reading each value twice
// (min/max, then codes) through a scalar u32 and a select made it ~6x slower (0.08 GB/s of bf16).
//
// Text defines (src/ops/quantize.ts): BITS, G (group size), UNPACK (statement filling the vec4s of
//   values held by the source word v = src[b + j]: 8 values of bf16/f16, 4 of f32), PACKED (vec4s of
//   values per source word: 2 or 1).
// Params: groups (count), src0 (first source element, a multiple of 8), code0 / group0 (first code
// word / group word written in the destination tensors).

struct Params { groups: u32, src0: u32, code0: u32, group0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> groups: array<u32>;

const BITS = {{BITS}}u;
const G = {{G}}u;
const G4 = G / 4u;
const PACKED = {{PACKED}}u;
const PER = 32u / BITS;
const LEVELS = (1u << BITS) - 1u;

// bf16 is the top half of an f32: word k holds element 2k in its low half, 2k+1 in its high half.
fn bf16x4(w: vec2<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(vec4<u32>(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}
fn f16x4(w: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * 64u;
  if (g >= p.groups) { return; }
  // The group's values, 4 a vec4, in element order.
  var vals: array<vec4<f32>, G4>;
  let b = (p.src0 + g * G) / (4u * PACKED);
  for (var j = 0u; j < G4 / PACKED; j++) { let v = src[b + j]; {{UNPACK}} }
  var lo = vals[0];
  var hi = vals[0];
  for (var j = 1u; j < G4; j++) { lo = min(lo, vals[j]); hi = max(hi, vals[j]); }
  let l = min(min(lo.x, lo.y), min(lo.z, lo.w));
  let h = max(max(hi.x, hi.y), max(hi.z, hi.w));
  let word = pack2x16float(vec2<f32>((h - l) / f32(LEVELS), l));
  groups[p.group0 + g] = word;
  let so = unpack2x16float(word);
  let inv = select(0.0, 1.0 / so.x, so.x > 0.0);
  // A code word holds PER / 4 vec4s of codes, lowest bits first.
  let shift = vec4<u32>(0u, 1u, 2u, 3u) * BITS;
  for (var w = 0u; w < G / PER; w++) {
    var packed = 0u;
    for (var k = 0u; k < PER / 4u; k++) {
      let q = vec4<u32>(clamp(floor((vals[w * (PER / 4u) + k] - so.y) * inv + 0.5), vec4<f32>(0.0), vec4<f32>(f32(LEVELS))));
      let s = q << (shift + 4u * BITS * k);
      packed |= s.x | s.y | s.z | s.w;
    }
    codes[p.code0 + g * (G / PER) + w] = packed;
  }
}
