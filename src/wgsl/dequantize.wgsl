// Dequantizes whole rows of a q8/q4 weight (layout: src/core/quant.ts) into a plain f32 weight:
// out[i] = code_i·scale + offset, the value core/quant's dequantizeGroups computes. Used by the
// quantized GEMM that runs the float kernels on dequantized tiles (ops/quant_linear.ts "scratch").
// One invocation per code word: Q = 32/BITS/4 vec4 stores of 4 values each.
//
// Text defines (src/ops/dequantize.ts): BITS, Q.
// Params: words (code words to expand), code0 (first code word), WPG (code words per group).
// Rows are whole groups, so code word c belongs to group word c / WPG.

struct Params { words: u32, code0: u32, WPG: u32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> groups: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

const BITS = {{BITS}}u;
const Q = {{Q}}u;
const MASK = (1u << BITS) - 1u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.words) { return; }
  let c = p.code0 + i;
  let word = codes[c];
  let so = unpack2x16float(groups[c / p.WPG]);
  for (var h = 0u; h < Q; h++) {
    let shift = vec4<u32>(0u, 1u, 2u, 3u) * BITS + 4u * BITS * h;
    out[i * Q + h] = vec4<f32>((vec4<u32>(word) >> shift) & vec4<u32>(MASK)) * so.x + vec4<f32>(so.y);
  }
}
