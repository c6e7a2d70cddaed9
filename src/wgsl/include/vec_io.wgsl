// Rows as vectors (ops/vector.ts vecSpec): ld widens a stored unit ST to the f32 math type VT, st
// rounds it back (f16 as packed u32 pairs, which lavapipe reads far faster than native f16, and
// rounded by f16_bits, which it runs far faster than pack2x16float).
// Defines: ST, VT, LOAD, STORE (expressions of a).
#include f16_bits

fn ld(a: {{ST}}) -> {{VT}} { return {{LOAD}}; }
fn st(a: {{VT}}) -> {{ST}} { return {{STORE}}; }
