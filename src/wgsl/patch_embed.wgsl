// im2col for the SigLIP patch convolution (P×P kernel, stride P, valid padding): the patch matrix
// that turns the conv into one GEMM with the [C, 3·P·P] weight.
//   pix [T, 3, S, S] -> cols [T·G·G, 3·P·P], row t·G²+gy·G+gx, column ci·P²+py·P+px,
//   cols[row, col] = pix[t, ci, gy·P+py, gx·P+px]. Pixels past G·P in either axis are never read.
// One invocation copies one run of P pixels (fixed t, ci, gy, gx, py), so the index divisions are
// paid once per P elements. p.base: element offset of the first frame in the bound pixel range
// (binding offsets must be aligned, a frame start need not be). T: storage type.

struct Params { runs: u32, grid: u32, psize: u32, size: u32, base: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pix: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> cols: array<{{T}}>;

override WG: u32 = 64u;

#include grid

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let i = flat_id(g);
  if (i >= p.runs) { return; }
  let P = p.psize;
  let G = p.grid;
  let row = i / (3u * P);
  let ci = (i % (3u * P)) / P;
  let py = i % P;
  let t = row / (G * G);
  let gy = (row % (G * G)) / G;
  let gx = row % G;
  let src = p.base + ((t * 3u + ci) * p.size + gy * P + py) * p.size + gx * P;
  let dst = row * 3u * P * P + (ci * P + py) * P;
  for (var px = 0u; px < P; px = px + 1u) {
    cols[dst + px] = pix[src + px];
  }
}
