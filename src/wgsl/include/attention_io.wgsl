// The interface of the fused attention kernels (attention, attention_small, attention_flash):
//   q [Lq, Hq, D]; k, v [Hkv, Lmax, D] (KV-cache layout, first kv_len rows valid); o [Lq, Hq, D],
// each a row of NV storage vectors ST. Declares Params `p` (written by ops/attention.ts
// attentionUniforms, the one place that lays it out), bindings 0-4 (p, q, k, v, o), NV, NEG, and
// dotv, ld, st in the f32 vector VT. The including kernel passes the vecSpec defines (ops/vector.ts:
// ST, VT, LOAD, STORE, NV, DOT); a kernel with more outputs binds them at 4, 5, ... under other
// entry points (WGSL allows aliased bindings across entry points).

struct Params {
  rows: u32,     // Lq·G pairs per KV head
  G: u32,        // query heads per KV head
  Hq: u32,
  Lmax: u32,     // cache rows per KV head
  kv_len: u32,   // valid keys
  q_offset: u32, // position of query row 0 (causal)
  causal: u32,
  scale: f32,    // softmax scale · log2(e): scores are in base 2, exp2 is cheaper than exp
  chunk: u32,    // keys per chunk of a key-split dispatch (>= kv_len when not split; attention.wgsl)
  nchunks: u32,
  nv: u32,       // = NV, as a uniform: loops over it are not unrolled (attention.wgsl)
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<{{ST}}>;
@group(0) @binding(2) var<storage, read> k: array<{{ST}}>;
@group(0) @binding(3) var<storage, read> v: array<{{ST}}>;
@group(0) @binding(4) var<storage, read_write> o: array<{{ST}}>;

const NV: u32 = {{NV}}u;
const NEG: f32 = -1.0e30; // "no score yet": finite, so exp2(NEG - m) is 0 and never NaN

fn dotv(a: {{VT}}, b: {{VT}}) -> f32 { return {{DOT}}; }
#include vec_io
