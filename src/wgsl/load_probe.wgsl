// Microbenchmark: what one vec4 load costs on this adapter, by address pattern and address space
// (bench/kernels/load_probe.ts). Each invocation runs ITERS steps of 4 independent vec4 loads into 4
// accumulators; the addresses stay within 64 KiB (the cache, and what a uniform buffer may bind),
// so the figures are load instructions, not memory bandwidth.
//   per_lane         per-lane addresses (consecutive across lanes), from SRC
//   same_address     the same address for every lane (workgroup-uniform), from SRC
//   broadcast        storage, per-lane addresses, but each load feeds 8 vec4s to every lane through
//                    subgroupBroadcast from lanes 0..7 (half the steps, the same vec4s delivered)
// Define: BCAST = subgroupBroadcast (with `enable subgroups`) or bcast_none where there are none.
// Every entry point uses p, x, y and u so that all share one 'auto' bind group layout.

struct Params { iters: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u: array<vec4<f32>, 4096>;

override WG: u32 = 8u;
const MASK = 4095u; // 4096 vec4s = 64 KiB

fn finish(i: u32, a: vec4<f32>) {
  y[i] = a;
  if (p.iters == 0u) { y[i] = x[i] + u[i & MASK]; } // never taken; keeps every binding in the layout
}

// SRC (a define) is x (storage) or u (uniform buffer).
@compute @workgroup_size(WG)
fn per_lane(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(); var a1 = a0; var a2 = a0; var a3 = a0;
  for (var k = 0u; k < p.iters; k++) {
    let b = (k * 4u * WG + lid) & MASK;
    a0 += {{SRC}}[b]; a1 += {{SRC}}[(b + WG) & MASK]; a2 += {{SRC}}[(b + 2u * WG) & MASK]; a3 += {{SRC}}[(b + 3u * WG) & MASK];
  }
  finish(gid.x, a0 + a1 + a2 + a3);
}

@compute @workgroup_size(WG)
fn same_address(@builtin(global_invocation_id) gid: vec3<u32>) {
  var a0 = vec4<f32>(); var a1 = a0; var a2 = a0; var a3 = a0;
  for (var k = 0u; k < p.iters; k++) {
    let b = (k * 4u) & MASK;
    a0 += {{SRC}}[b]; a1 += {{SRC}}[b + 1u]; a2 += {{SRC}}[b + 2u]; a3 += {{SRC}}[b + 3u];
  }
  finish(gid.x, a0 + a1 + a2 + a3);
}

fn bcast_none(v: vec4<f32>, l: u32) -> vec4<f32> { return v; }

@compute @workgroup_size(WG)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(); var a1 = a0; var a2 = a0; var a3 = a0;
  for (var k = 0u; k < p.iters / 2u; k++) {
    let v = x[(k * 8u + (lid & 7u)) & MASK];
    a0 += {{BCAST}}(v, 0u); a1 += {{BCAST}}(v, 1u); a2 += {{BCAST}}(v, 2u); a3 += {{BCAST}}(v, 3u);
    a0 += {{BCAST}}(v, 4u); a1 += {{BCAST}}(v, 5u); a2 += {{BCAST}}(v, 6u); a3 += {{BCAST}}(v, 7u);
  }
  finish(gid.x, a0 + a1 + a2 + a3);
}
