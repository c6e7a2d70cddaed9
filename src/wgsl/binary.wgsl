// Elementwise binary op with broadcasting: y[i] = OP(a[ia], b[ib]).
// {{T}}: storage type. {{OP}}: an expression in x and z (the two operands), e.g. "x + z".
// Broadcasting is done by strides: an input's stride is 0 along the dimensions it broadcasts.
// Workgroups are folded over x and y (see core/kernel.ts fold()).

const MAX_RANK = 8u;

struct Params {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  dims: array<vec4<u32>, 2>,     // output shape, innermost last
  stride_a: array<vec4<u32>, 2>, // element strides of a in output index space (0 = broadcast)
  stride_b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{T}}>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = p.rank; d > 0u; d = d - 1u) {
    let k = d - 1u;
    let dim = p.dims[k / 4u][k % 4u];
    let c = rem % dim;
    rem = rem / dim;
    ia = ia + c * p.stride_a[k / 4u][k % 4u];
    ib = ib + c * p.stride_b[k / 4u][k % 4u];
  }
  let x = a[ia];
  let z = b[ib];
  y[i] = {{OP}};
}
