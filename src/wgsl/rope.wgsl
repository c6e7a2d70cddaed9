// Rotary position embedding, rotate-half layout (Qwen2), x [L, H, D] -> y [L, H, D].
// For row l (position pos = offset + l) and j < D/2, with angle a = f32(pos)·inv_freq[j] in f32:
//   y_j = T(T(x_j·c) − T(x_{j+D/2}·s)),  y_{j+D/2} = T(T(x_{j+D/2}·c) + T(x_j·s)),  c = T(cos a), s = T(sin a)
// which is PyTorch's q·cos + rotate_half(q)·sin in the storage type T (each op rounds; a no-op for f32).
// inv_freq comes from the host, computed exactly as the reference does (see ops/rope.ts).
// One invocation per (l, j): it evaluates cos/sin once and applies them to all H heads.
// Defines: T: storage type; NV: ceil(D/8), vec4s holding the D/2 inverse frequencies;
// TABLE_MBITS / TABLE_EMIN: cos and sin are first rounded (to nearest, ties to even) to a float
// with that many mantissa bits and that minimum exponent, as the reference's cached cos/sin
// tables are when the model is built in bf16 (7, -126) or f16 (10, -14); 23, -126 leaves f32 as is.

struct Params { rows: u32, heads: u32, half: u32, offset: u32, inv_freq: array<vec4<f32>, {{NV}}> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{T}}>;

override WG: u32 = 64u;

#include grid

// π/2 in three parts of 9, 9 and 24 significant bits: k·PIO2_A and k·PIO2_B are exact for k < 2^15,
// so angles up to ~5e4 reduce with an error near 1e-7 (Cody–Waite). Builtin cos/sin are only
// specified on [−π, π] (Vulkan: 2^-11 absolute), so they are not trusted with angles of thousands.
const PIO2_A = 1.5703125;
const PIO2_B = 0.00048351287841796875;
const PIO2_C = 3.1391647326017846e-07;
const TWO_OVER_PI = 0.6366197723675814;

// (cos a, sin a) for a >= 0: reduce to r in [−π/4, π/4] and a quadrant, then Taylor polynomials
// (truncation below 1e-11 on that interval).
fn cos_sin(a: f32) -> vec2<f32> {
  let kf = floor(a * TWO_OVER_PI + 0.5);
  let r = ((a - kf * PIO2_A) - kf * PIO2_B) - kf * PIO2_C;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0 + r2 * (-1.0 / 39916800.0)))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  switch (u32(kf) & 3u) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

// v rounded to TABLE_MBITS mantissa bits: scaling by a power of two is exact and WGSL's round()
// breaks ties to even, so this is the correctly rounded conversion (subnormals included).
fn round_table(v: f32) -> f32 {
  if ({{TABLE_MBITS}} >= 23 || v == 0.0) { return v; }
  let e = max(i32((bitcast<u32>(v) >> 23u) & 0xffu) - 127, {{TABLE_EMIN}});
  let shift = {{TABLE_MBITS}} - e;
  return ldexp(round(ldexp(v, shift)), -shift);
}

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let i = flat_id(g);
  if (i >= p.rows * p.half) { return; }
  let l = i / p.half;
  let j = i % p.half;
  let a = f32(p.offset + l) * p.inv_freq[j / 4u][j % 4u];
  let cs = cos_sin(a);
  let c = f32({{T}}(round_table(cs.x)));
  let s = f32({{T}}(round_table(cs.y)));
  let d = 2u * p.half;
  for (var h = 0u; h < p.heads; h = h + 1u) {
    let e = (l * p.heads + h) * d + j;
    let x0 = f32(x[e]);
    let x1 = f32(x[e + p.half]);
    y[e] = {{T}}(f32({{T}}(x0 * c)) - f32({{T}}(x1 * s)));
    y[e + p.half] = {{T}}(f32({{T}}(x1 * c)) + f32({{T}}(x0 * s)));
  }
}
