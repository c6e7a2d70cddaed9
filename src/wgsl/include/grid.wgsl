// The builtins of a dispatch whose workgroups are folded over x and y (core/kernel.ts Kernel.fold),
// as one entry-point parameter: `fn main(g: Grid)`. Needs `override WG` (the workgroup size).
struct Grid {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
}

// The linear index of this invocation's workgroup, and of the invocation itself.
fn flat_wg(g: Grid) -> u32 { return g.wid.x + g.wid.y * g.nwg.x; }
fn flat_id(g: Grid) -> u32 { return flat_wg(g) * WG + g.lid; }
