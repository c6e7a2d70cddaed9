// Pointwise activations, computed in f32 and rounded once to the storage type (architecture.md §13).
//   y = EXPR over a (and b for the gated form), one "unit" per step: the widest vector (4, 2, 1) that
// divides n (ops/vector.ts vecSpec; f16 as packed u32 pairs).
// Each invocation handles CHUNK consecutive units (contiguous runs read fastest on lavapipe; CHUNK 1
// is the coalesced pattern of GPUs).
//
// Defines: ST, VT, LOAD, STORE (vec_io: VT is the unit in f32); B_DECL: the second input's binding
// (2) and its reader vb, or empty; OUT: binding number of y; EXPR: the result in VT, reading the
// inputs as va(j), vb(j).

struct Params { units: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<{{ST}}>;
{{B_DECL}}
@group(0) @binding({{OUT}}) var<storage, read_write> y: array<{{ST}}>;

override WG: u32 = 64u;
override CHUNK: u32 = 4u;

#include grid
#include vec_io

fn va(j: u32) -> {{VT}} { return ld(a[j]); }

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT2 = 0.7071067811865476;

// tanh form (SigLIP), evaluated as x·σ(2u) = x / (1 + e^(−2u)), which equals 0.5·x·(1 + tanh(u))
// without its cancellation for x < −4 (1 + tanh(u) rounds to 0 in f32 there) and without tanh,
// which some drivers compute as (e^2u − 1)/(e^2u + 1) = NaN for large |u|.
fn gelu_tanh(x: {{VT}}) -> {{VT}} {
  let u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp_capped(-2.0 * u));
}

// e^v with v capped at 88 (e^88 ≈ 1.7e38 < f32 max): WGSL leaves the value of an overflowing exp
// undefined, and the callers only need "huge" there. Caps are compare-and-select: lavapipe compiles
// float min()/max() into slow code (a NaN passes through either way).
fn exp_capped(v: {{VT}}) -> {{VT}} {
  return exp(select(v, {{VT}}(88.0), v > {{VT}}(88.0)));
}

// erfc(z) for z >= 0, relative error < 1.2e-7 (Chebyshev fit of Press et al., Numerical Recipes
// §6.2 "erfcc"). Using erfc rather than erf keeps the negative tail of gelu accurate in relative
// terms too (gelu(−6) ≈ −6e-9), where 1 + erf(x) would cancel.
fn erfc_pos(z: {{VT}}) -> {{VT}} {
  let t = 1.0 / (1.0 + 0.5 * z);
  let q = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(q - z * z);
}

// exact form (projector, packer): 0.5·x·(1 + erf(x/√2)) = x·(1 − erfc(|x|/√2)/2) for x >= 0 and
// x·erfc(|x|/√2)/2 for x < 0. z is capped at 10, where erfc underflows to 0 anyway.
fn gelu_erf(x: {{VT}}) -> {{VT}} {
  let z = abs(x) * INV_SQRT2;
  let e = 0.5 * erfc_pos(select(z, {{VT}}(10.0), z > {{VT}}(10.0)));
  return x * select(e, 1.0 - e, x >= {{VT}}(0.0));
}

// SiLU(g) = g·σ(g) = g / (1 + e^(−g)).
fn silu(g: {{VT}}) -> {{VT}} {
  return g / (1.0 + exp_capped(-g));
}

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let first = flat_id(g) * CHUNK;
  for (var k = 0u; k < CHUNK; k = k + 1u) {
    let j = first + k;
    if (j >= p.units) { return; }
    y[j] = st({{EXPR}});
  }
}
