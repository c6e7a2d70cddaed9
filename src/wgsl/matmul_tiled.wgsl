// y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]): x [M, K] row-major, w [N, K] as checkpoints store
// Linear weights ([out, in]). The plain shared-memory version: a TILE×TILE output tile per
// workgroup, one output per invocation. It is the baseline the register-tiled kernel is measured
// against, and the fallback for any shape.
// T: storage type of x, w, y. BIAS_DECL / BIAS_ADD: the bias binding (4) and its add, or empty.

struct Params { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> w: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{T}}>;
{{BIAS_DECL}}

const TILE = 16u;
var<workgroup> xs: array<array<f32, 16>, 16>;
var<workgroup> ws: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * TILE + lid.y; // m
  let col = wid.x * TILE + lid.x; // n
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.K; k0 = k0 + TILE) {
    let kx = k0 + lid.x;
    xs[lid.y][lid.x] = select(0.0, f32(x[row * p.K + kx]), row < p.M && kx < p.K);
    let wn = wid.x * TILE + lid.y;
    ws[lid.y][lid.x] = select(0.0, f32(w[wn * p.K + kx]), wn < p.N && kx < p.K);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k = k + 1u) {
      acc = acc + xs[lid.y][k] * ws[lid.x][k];
    }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) {
    {{BIAS_ADD}}
    y[row * p.N + col] = {{T}}(acc);
  }
}
