// Quantizes a chunk of a checkpoint tensor into q8/q4 codes and group words (layout and rounding:
// src/core/quant.ts, whose quantizeGroups is this kernel's reference). One invocation per group of
// G values: min and max, scale = (max - min) / (2^BITS - 1) and offset = min rounded to f16 (the
// group word), then codes = clamp(floor((w - offset) / scale + 0.5), 0, 2^BITS - 1), packed.
// Runs on the GPU because quantizing ~8 B weights in JavaScript takes longer than reading them.
//
// Text defines (src/ops/quantize.ts): BITS, G (group size), LOAD (expression: source value e as f32,
//   reading `src` as u32 words: bf16 pairs, f16 pairs or f32 bits).
// Params: groups (count), src0 (first source element), code0 / group0 (first code word / group word
// written in the destination tensors).

struct Params { groups: u32, src0: u32, code0: u32, group0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> groups: array<u32>;

const BITS = {{BITS}}u;
const G = {{G}}u;
const PER = 32u / BITS;
const LEVELS = (1u << BITS) - 1u;

fn value(e: u32) -> f32 { return {{LOAD}}; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * 64u;
  if (g >= p.groups) { return; }
  let e0 = p.src0 + g * G;
  var lo = value(e0);
  var hi = lo;
  for (var i = 1u; i < G; i++) { let v = value(e0 + i); lo = min(lo, v); hi = max(hi, v); }
  let word = pack2x16float(vec2<f32>((hi - lo) / f32(LEVELS), lo));
  groups[p.group0 + g] = word;
  let so = unpack2x16float(word);
  let inv = select(0.0, 1.0 / so.x, so.x > 0.0);
  for (var w = 0u; w < G / PER; w++) {
    var packed = 0u;
    for (var j = 0u; j < PER; j++) {
      let q = clamp(floor((value(e0 + w * PER + j) - so.y) * inv + 0.5), 0.0, f32(LEVELS));
      packed |= u32(q) << (j * BITS);
    }
    codes[p.code0 + g * (G / PER) + w] = packed;
  }
}
