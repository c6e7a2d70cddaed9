// Copies a range of 16-bit halves between buffers viewed as u32 words, for copies whose byte
// offsets or size are not multiples of 4 (f16 rows of odd length), which copyBufferToBuffer refuses.
//   dst halves [p.dst, p.dst + p.n) = src halves [p.src, p.src + p.n); half h lives in word h/2,
//   low 16 bits first (little-endian). One invocation owns one destination word, so no two
//   invocations write the same word; the halves of a boundary word outside the range keep dst's value.
// Offsets are relative to the bound ranges. Needs no shader-f16.

struct Params { dst: u32, src: u32, n: u32, words: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

override WG: u32 = 64u;

#include grid

fn src_half(h: u32) -> u32 {
  return (src[h / 2u] >> (16u * (h % 2u))) & 0xffffu;
}

@compute @workgroup_size(WG)
fn main(g: Grid) {
  let i = flat_id(g);
  if (i >= p.words) { return; }
  let word = p.dst / 2u + i;      // the destination word this invocation owns
  var out = dst[word];
  for (var k = 0u; k < 2u; k = k + 1u) {
    let h = 2u * word + k;
    if (h >= p.dst && h < p.dst + p.n) {
      let shift = 16u * k;
      out = (out & ~(0xffffu << shift)) | (src_half(p.src + h - p.dst) << shift);
    }
  }
  dst[word] = out;
}
