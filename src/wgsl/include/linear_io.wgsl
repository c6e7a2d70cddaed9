// The interface of the Linear GEMM kernels (matmul_reg, matmul_rows, matmul_shared, matmul_bcast):
//   y[m, ycol0 + n] = sum_k x[m, k] * w[n, k] (+ bias[bcol0 + n]); x [M, K] row-major, w [N, K],
//   y rows of stride ldy.
// Declares Params `p` (M, N = rows of this weight part, KV = K / V vectors a row, ldy, ycol0 = first
// y column written, bcol0 = first bias element used), bindings 0-3 (p, x, w, y) and the bias binding
// (4), the vector type XV, and the widening loads ldx(i) / ldw(i) -> XV and bias_of(n).
// The including kernel passes the defines of ops/matmul.ts linearLoads: XS, WS (storage types of x
// and w), XV (the f32 type one load widens to, V k-values), LDX, LDW (the widening expressions of
// x[i], w[i]), YT (storage type of y), BIAS (the bias of output column n, 0.0 when there is none),
// BIAS_DECL (the bias binding, or empty).

struct Params { M: u32, N: u32, KV: u32, ldy: u32, ycol0: u32, bcol0: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{XS}}>;
@group(0) @binding(2) var<storage, read> w: array<{{WS}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{YT}}>;
{{BIAS_DECL}}

alias XV = {{XV}};

fn ldx(i: u32) -> XV { return {{LDX}}; }
fn ldw(i: u32) -> XV { return {{LDW}}; }
fn bias_of(n: u32) -> f32 { return {{BIAS}}; }
