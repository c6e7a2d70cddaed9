// 2^t from its exponent's bits and a polynomial, in place of exp2()/exp(), which lavapipe runs at
// about twice the cost of the loads around them (README, row kernels). k = t rounded to an integer,
// read from the bits of t + 1.5·2^23 (the FPU rounds; an integer conversion, unlike (t + c) − c,
// cannot be folded away by the compiler); f = t − k in [−0.5, 0.5]; 2^f by a degree-5 fit,
// relative error 2.2e-7 in f32 (~4 ulp). t is clamped to [−125, 127] so that 2^k is a normal f32;
// below −125 the result is exactly 0, NaN stays NaN (it reaches the multiply).
// Defines: VT (f32 or vecN<f32>), VT_I / VT_U (the same shape in i32 / u32; ops/vector.ts).
fn exp2_poly(t: {{VT}}) -> {{VT}} {
  let c = select(select(t, {{VT}}(127.0), t > {{VT}}(127.0)), {{VT}}(-125.0), t < {{VT}}(-125.0));
  let k = bitcast<{{VT_I}}>(c + 12582912.0) - {{VT_I}}(0x4b400000);
  let f = c - {{VT}}(k);
  let q = ((((0.00132669706 * f + 0.00967545994) * f + 0.0555074252) * f + 0.240221217) * f + 0.693146944) * f + 1.00000012;
  let two_k = bitcast<{{VT}}>((k + {{VT_I}}(127)) << {{VT_U}}(23u));
  return select(q * two_k, {{VT}}(0.0), t < {{VT}}(-125.0));
}
