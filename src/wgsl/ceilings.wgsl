// Micro-kernels that measure what this adapter can do at best (bench/ceilings.ts).
// fma: ITERS iterations of 8 independent vec4 multiply-adds in registers per invocation ({{T}}).
// Every entry point uses p, x and y so that all share one 'auto' bind group layout.
// read: each invocation sums a contiguous CHUNK of vec4s (the best read pattern on lavapipe).
// copy: y = x, a contiguous CHUNK of vec4s per invocation. tiny: one store, to time dispatch overhead.

struct Params { n: u32, iters: u32, chunk: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<{{T}}>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<{{T}}>>;

override WG: u32 = 64u;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn fma_rate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let s = vec4<{{T}}>({{T}}(f32(lid) * 1e-3));
  var a0 = s; var a1 = s + 1.0; var a2 = s + 2.0; var a3 = s + 3.0;
  var a4 = s + 4.0; var a5 = s + 5.0; var a6 = s + 6.0; var a7 = s + 7.0;
  let m = vec4<{{T}}>(0.999);
  let c = vec4<{{T}}>(0.001);
  for (var k = 0u; k < p.iters; k = k + 1u) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  if (i < p.n) { y[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7; }
  if (p.iters == 0u) { y[i] = x[i]; } // never taken; keeps x in the 'auto' layout like the others
}

@compute @workgroup_size(WG)
fn read_rate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  let start = i * p.chunk;
  if (start >= p.n) { return; }
  var acc = vec4<{{T}}>();
  let end = min(start + p.chunk, p.n);
  for (var k = start; k < end; k = k + 1u) { acc = acc + x[k]; }
  y[i] = acc;
}

@compute @workgroup_size(WG)
fn copy_rate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let start = linear_id(wid, nwg, lid) * p.chunk;
  let end = min(start + p.chunk, p.n);
  for (var k = start; k < end; k = k + 1u) { y[k] = x[k]; }
}

@compute @workgroup_size(1)
fn tiny_dispatch() {
  y[0] = x[0] + vec4<{{T}}>({{T}}(p.n));
}
