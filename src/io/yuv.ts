// Planar YUV 4:2:0 to RGB24, reproducing FFmpeg's own conversion (libswscale's unscaled yuv420p ->
// rgb24 path, what `ffmpeg -pix_fmt rgb24` and decord use) byte for byte: each chroma sample covers
// a 2×2 block (no interpolation), and the colour matrix runs in 16-bit fixed point as swscale's SIMD
// code does: every product is (a·b) >> 16 with b a coefficient scaled by 2^13 and a promoted by 2^3,
// sums saturate to int16, results clamp to [0, 255]. The pages decode video with WebCodecs, which
// hands out YUV planes; converting them here gives the frames the Node path gets from ffmpeg.
// Checked against ffmpeg 5.1 (x86-64) on every frame of the demo videos (test/io/yuv.test.ts).

/** Colour matrices by the YUV->RGB rows swscale uses (ff_yuv2rgb_coeffs, 16.16): crv, cbu, cgu, cgv. */
const MATRICES = {
  bt601: [104597, 132201, 25675, 53279],
  bt709: [117489, 138438, 13975, 34925],
  bt2020: [110013, 140363, 12277, 42626],
} as const;
export type YuvMatrix = keyof typeof MATRICES;

/** WebCodecs / ISO colour-space matrix names to ours; swscale's default (unspecified) is BT.601. */
export function yuvMatrixOf(name: string | null | undefined): YuvMatrix {
  if (name === 'bt709') return 'bt709';
  if (name === 'bt2020-ncl') return 'bt2020';
  return 'bt601';
}

export interface YuvPlanes {
  width: number;
  height: number;
  /** Luma, `yStride` bytes a row. */
  y: Uint8Array; yStride: number;
  /** Chroma at half resolution each way (rounded up); for NV12 `u` holds interleaved U,V and `v` is undefined. */
  u: Uint8Array; uStride: number;
  v?: Uint8Array; vStride?: number;
  /** Limited (16-235, the usual) or full range. */
  fullRange?: boolean;
  matrix?: YuvMatrix;
}

const mulhi = (a: number, b: number): number => Math.floor((a * b) / 65536);
const sat16 = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);
const roundToInt16 = (f: number): number => sat16(Math.round(f)); // lrint of the 2^13-scaled float

/** The 2^13-scaled int16 coefficients swscale derives for a matrix and range (sws_setColorspaceDetails). */
function coefficients(matrix: YuvMatrix, fullRange: boolean): { y: number; yOffset: number; vr: number; ub: number; ug: number; vg: number } {
  let [crv, cbu, cgu, cgv] = MATRICES[matrix].map(Number) as [number, number, number, number];
  let cy = 1 << 16;
  let oy = 0;
  if (fullRange) {
    // Full-range chroma spans 0..255, not 16..240: the chroma rows shrink by 224/255.
    crv = Math.floor((crv * 224) / 255); cbu = Math.floor((cbu * 224) / 255);
    cgu = Math.floor((cgu * 224) / 255); cgv = Math.floor((cgv * 224) / 255);
  } else {
    cy = Math.floor((cy * 255) / 219);
    oy = 16 << 16;
  }
  const s = 8192 / 65536;
  return { y: roundToInt16(cy * s), yOffset: oy >> 16, vr: roundToInt16(crv * s), ub: roundToInt16(cbu * s), ug: -roundToInt16(cgu * s), vg: -roundToInt16(cgv * s) };
}

/** YUV 4:2:0 planes (I420 or NV12) to interleaved RGB24, as FFmpeg's rgb24 output. */
export function yuv420ToRgb24(p: YuvPlanes, out = new Uint8Array(p.width * p.height * 3)): Uint8Array {
  const c = coefficients(p.matrix ?? 'bt601', p.fullRange ?? false);
  const { width: W, height: H } = p;
  const nv12 = p.v === undefined;
  const clampU8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let row = 0; row < H; row++) {
    const yRow = row * p.yStride;
    const cRow = (row >> 1) * p.uStride;
    const vRow = nv12 ? cRow : (row >> 1) * p.vStride!;
    for (let x = 0; x < W; x++) {
      const Y = p.y[yRow + x]!;
      const U = nv12 ? p.u[cRow + 2 * (x >> 1)]! : p.u[cRow + (x >> 1)]!;
      const V = nv12 ? p.u[cRow + 2 * (x >> 1) + 1]! : p.v![vRow + (x >> 1)]!;
      const yy = mulhi((Y - c.yOffset) * 8, c.y); // no saturation: Y < 16 goes negative, as in swscale
      const u = U * 8 - 1024, v = V * 8 - 1024;
      const o = (row * W + x) * 3;
      out[o] = clampU8(sat16(yy + mulhi(v, c.vr)));
      out[o + 1] = clampU8(sat16(yy + sat16(mulhi(u, c.ug) + mulhi(v, c.vg))));
      out[o + 2] = clampU8(sat16(yy + mulhi(u, c.ub)));
    }
  }
  return out;
}
