// Dtype conversions, one "unit" per step: a vec4 of elements (n % 4 == 0), a scalar otherwise, or
// for packed bf16 input a vec2<u32> of words (4 elements) / one u32 word (2 elements).
// Each invocation converts CHUNK consecutive units: on lavapipe a contiguous run per invocation reads
// ~3× faster than one unit per invocation (design.md, measured facts).
//
// IN / OUT: the storage array element types (f16 vec4s as packed u32 pairs, rounded by f16_bits). STORE: the statement converting unit j, with
// src[j] and dst[...] in scope (see ops/convert.ts). p.units: units in this dispatch;
// p.count: output elements in this dispatch (the scalar bf16 path writes 2 per word, the last
// word of an odd count only 1).

struct Params { units: u32, count: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{IN}}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{OUT}}>;

override WG: u32 = 64u;
override CHUNK: u32 = 4u;

#include grid
#include f16_bits

// bf16 is the top half of an f32: a packed word holds element 2k in its low half, 2k+1 in its high half.
fn widen_bf16(w: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let first = flat_id(g) * CHUNK;
  for (var k = 0u; k < CHUNK; k = k + 1u) {
    let j = first + k;
    if (j >= p.units) { return; }
    {{STORE}}
  }
}
