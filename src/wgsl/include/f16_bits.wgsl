// f32 -> f16 rounding in integer ops and selects. lavapipe compiles pack2x16float, quantizeToF16,
// round, and float min/max into slow code: a row kernel that stores f16 through pack2x16float
// spent most of its time there (README, row kernels).
// These give pack2x16float's bits (round to nearest even, subnormals exact, overflow to ±inf,
// NaN to a quiet NaN), per component, in every lane's SIMD registers.

// The binary16 bits of each component of f, in the low 16 bits.
fn f16_bits(f: vec4<f32>) -> vec4<u32> {
  let b = bitcast<vec4<u32>>(f);
  let a = b & vec4<u32>(0x7fffffffu);
  // normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even;
  // a carry out of the mantissa bumps the exponent, as it should
  let normal = (a - vec4<u32>(0x37fff001u) + ((a >> vec4<u32>(13u)) & vec4<u32>(1u))) >> vec4<u32>(13u);
  // below 2^-14: |f| + 0.5 is rounded by the FPU to a multiple of 2^-24 (0.5's ulp), which is the
  // subnormal's mantissa; 2^-14 itself comes out as 0x400, the smallest normal
  let tiny = bitcast<vec4<u32>>(bitcast<vec4<f32>>(a) + 0.5) - vec4<u32>(0x3f000000u);
  var h = select(normal, tiny, a < vec4<u32>(0x38800000u));
  h = select(h, vec4<u32>(0x7c00u), a >= vec4<u32>(0x477ff000u)); // 65520 and up round to inf
  h = select(h, vec4<u32>(0x7e00u), a > vec4<u32>(0x7f800000u));  // NaN
  return h | ((b >> vec4<u32>(16u)) & vec4<u32>(0x8000u));
}

// pack2x16float for four / two values: component 2k in the low half of word k.
fn pack_f16x4(v: vec4<f32>) -> vec2<u32> {
  let h = f16_bits(v);
  return vec2<u32>(h.x | (h.y << 16u), h.z | (h.w << 16u));
}
fn pack_f16x2(v: vec2<f32>) -> u32 {
  let h = f16_bits(vec4<f32>(v, 0.0, 0.0));
  return h.x | (h.y << 16u);
}
