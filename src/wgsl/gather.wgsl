// Row gathers, one workgroup per output row, columns in units (vec4 when C % 4 == 0, else scalars).
//   gather: y[r] = OUT(table[clamp(id[r], 0, V − 1) − p.first]) for the ids that fall in this part
//           of the table, rows [p.first, p.first + p.part_rows); rows of other parts are left alone
//           (a SplitWeight table is gathered by one dispatch per part into the same y).
//           Out-of-range ids are clamped, never read out of bounds: ids live on the GPU, so the host
//           cannot check them (embeddingFromIds checks host ids first).
//   lerp:   y[r] = OUT((1 − w)·table[i0] + w·table[i1]) in f32, (i0, i1, bits of w) = lerp_args[r].
// Defines: IN_VT, OUT_VT: unit types of table and y; F: the unit in f32 (vec4<f32> or f32);
// ID: i32 or u32.

struct Params { rows: u32, units: u32, vocab: u32, first: u32, part_rows: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<{{IN_VT}}>;
@group(0) @binding(2) var<storage, read> ids: array<{{ID}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{OUT_VT}}>;
@group(0) @binding(2) var<storage, read> lerp_args: array<vec4<u32>>; // lerp only, in place of ids

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let id = u32(clamp(i32(ids[r]), 0, i32(p.vocab) - 1));
  if (id < p.first || id >= p.first + p.part_rows) { return; }
  let src = (id - p.first) * p.units;
  for (var j = lid; j < p.units; j = j + WG) {
    y[r * p.units + j] = {{OUT_VT}}(table[src + j]);
  }
}

@compute @workgroup_size(WG)
fn lerp(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let arg = lerp_args[r];
  let w = bitcast<f32>(arg.z);
  let a = arg.x * p.units;
  let b = arg.y * p.units;
  for (var j = lid; j < p.units; j = j + WG) {
    y[r * p.units + j] = {{OUT_VT}}((1.0 - w) * {{F}}(table[a + j]) + w * {{F}}(table[b + j]));
  }
}
