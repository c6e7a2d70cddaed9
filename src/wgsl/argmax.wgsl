// Argmax over the last dimension in two stages; ties go to the lowest index (torch.argmax), NaN
// counts as larger than every number (torch: the first NaN wins).
//   partial: x [R, N] -> best [R, B] of (key, index), B = ceil(N / (WG·PER)), one workgroup per
//            (row, block); each invocation scans PER contiguous elements.
//   combine: best [R, B] -> y u32 [R], one workgroup per row.
// Values compare as order-preserving u32 keys (no float compares: WGSL lets compilers assume no
// NaN), with −0 folded onto +0 so that they tie like floats do. T: storage type of x.

struct Params { rows: u32, n: u32, blocks: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> best: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> best_in: array<vec2<u32>>; // combine only, in place of x
@group(0) @binding(2) var<storage, read_write> y: array<u32>;        // combine only

override WG: u32 = 64u;
override PER: u32 = 64u;
var<workgroup> keys: array<vec2<u32>, 256>;

fn sort_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; } // NaN
  if (b == 0x80000000u) { b = 0u; }                            // −0 ties with +0
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Ascending scan order plus a strict ">" keeps the lowest index among equal keys.
fn better(a: vec2<u32>, b: vec2<u32>) -> bool { return a.x > b.x; }

// Invocation 0's view of the workgroup's best, scanning the partials in index order.
fn workgroup_best(mine: vec2<u32>, lid: u32) -> vec2<u32> {
  keys[lid] = mine;
  workgroupBarrier();
  var b = keys[0];
  for (var i = 1u; i < WG; i = i + 1u) {
    if (better(keys[i], b)) { b = keys[i]; }
  }
  return b;
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.rows * p.blocks) { return; }
  let row = g / p.blocks;
  let start = (g % p.blocks) * WG * PER + lid * PER;
  let end = min(start + PER, p.n);
  var mine = vec2<u32>(0u, 0xffffffffu); // key 0 is below every number; index: none
  for (var i = start; i < end; i = i + 1u) {
    let k = sort_key(f32(x[row * p.n + i]));
    if (k > mine.x || mine.y == 0xffffffffu) { mine = vec2<u32>(k, i); }
  }
  let b = workgroup_best(mine, lid);
  if (lid == 0u) { best[g] = b; }
}

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  var mine = vec2<u32>(0u, 0xffffffffu);
  let per = (p.blocks + WG - 1u) / WG;
  let end = min((lid + 1u) * per, p.blocks);
  for (var i = lid * per; i < end; i = i + 1u) {
    let c = best_in[row * p.blocks + i];
    if (c.x > mine.x || mine.y == 0xffffffffu) { mine = c; }
  }
  let b = workgroup_best(mine, lid);
  if (lid == 0u) { y[row] = b.y; }
}
