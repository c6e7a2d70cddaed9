// SigLIP patch embedding: conv P×P stride P, valid padding (trailing pixels unused), 3 -> C.
//   pixels [T, 3, S, S], weight [C, 3, P, P], bias [C] -> [T, G·G, C], G = floor(S / P), row-major patches
// As im2col (patch_embed.wgsl) then one GEMM per chunk of frames: cols [f·G², 3P²] · W[C, 3P²]ᵀ + b.
// Chunks keep every binding within maxStorageBufferBindingSize (100 real frames are 177 MB of f32
// pixels); a multi-chunk result is assembled with buffer copies.
import { DTypeError, LimitError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { scope } from '../core/registry.js';
import { linear } from './linear.js';
import { copyRows } from './copy.js';

const WG = 64;

/** Frames one chunk holds (its pixels, im2col columns and output each within one binding), and the
 *  bytes a frame needs: S pixels a side, P the patch, C output channels. */
export function patchChunk(S: number, P: number, C: number, bytesPerElement: number, maxBinding: number): { frames: number; perFrame: number } {
  const G = Math.floor(S / P), K = 3 * P * P;
  const perFrame = Math.max(G * G * K, G * G * C, 3 * S * S) * bytesPerElement;
  return { frames: Math.floor((maxBinding - 256) / perFrame), perFrame };
}

export function patchEmbed(pixels: Tensor, weight: Tensor, bias: Tensor, patch: number): Tensor {
  const P = patch;
  if (pixels.rank !== 4 || pixels.shape[1] !== 3 || pixels.shape[2] !== pixels.shape[3]) {
    throw new ShapeError(`patchEmbed: pixels ${pixels.name} ${shapeStr(pixels.shape)} is not [T, 3, S, S]`);
  }
  const [T, , S] = pixels.shape as [number, number, number, number];
  if (!Number.isInteger(P) || P < 1 || P > S) throw new ShapeError(`patchEmbed: patch ${P} does not fit pixels ${shapeStr(pixels.shape)}`);
  const C = weight.shape[0]!;
  if (weight.rank !== 4 || weight.shape[1] !== 3 || weight.shape[2] !== P || weight.shape[3] !== P) {
    throw new ShapeError(`patchEmbed: weight ${weight.name} ${shapeStr(weight.shape)} is not [C, 3, ${P}, ${P}] for pixels ${shapeStr(pixels.shape)}`);
  }
  if (bias.rank !== 1 || bias.shape[0] !== C) throw new ShapeError(`patchEmbed: bias ${bias.name} ${shapeStr(bias.shape)} does not match weight ${shapeStr(weight.shape)} (need [${C}])`);
  if (pixels.dtype !== 'f32' && pixels.dtype !== 'f16') throw new DTypeError(`patchEmbed: pixels ${pixels.name} is ${pixels.dtype}; only f32 and f16`);
  for (const t of [weight, bias]) if (t.dtype !== pixels.dtype) throw new DTypeError(`patchEmbed: ${t.name} is ${t.dtype} but pixels ${pixels.name} are ${pixels.dtype}`);

  const gpu = pixels.gpu;
  const G = Math.floor(S / P), K = 3 * P * P, eb = pixels.dtype === 'f32' ? 4 : 2;
  const maxBinding = gpu.limits.maxStorageBufferBindingSize;
  const { frames, perFrame } = patchChunk(S, P, C, eb, maxBinding);
  const framesPerChunk = Math.min(T, frames);
  if (framesPerChunk < 1) throw new LimitError(`patchEmbed: one frame of ${shapeStr(pixels.shape)} needs ${perFrame} B bindings, over maxStorageBufferBindingSize ${maxBinding}`);
  const out = [T, G * G, C];
  if (T === 0 || G === 0) return Tensor.empty(gpu, out, pixels.dtype, 'patchEmbed');

  const im2col = gpu.kernels.get({ source: 'patch_embed', defines: { T: pixels.dtype }, constants: { WG }, ...(pixels.dtype === 'f16' ? { enables: ['f16'] } : {}) });
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  const chunk = (t0: number, f: number): Tensor => scope(() => {
    const cols = Tensor.empty(gpu, [f * G * G, K], pixels.dtype, 'patchEmbed.cols');
    const start = t0 * 3 * S * S * eb, bound = start - (start % align);
    const runs = f * G * G * 3 * P;
    im2col.dispatch([{ buffer: pixels.buffer, offset: bound, size: start - bound + f * 3 * S * S * eb, label: `pixels ${pixels.name} frames ${t0}..${t0 + f - 1}` }, cols.binding()],
      Math.ceil(runs / WG), new Uint32Array([runs, G, P, S, (start - bound) / eb, 0, 0, 0]));
    const w2 = weight.reshape([C, K], `${weight.name}[C, 3P²]`);
    return linear(cols, w2, bias);
  });
  if (framesPerChunk >= T) {
    const y = chunk(0, T);
    const r = y.reshape(out, 'patchEmbed');
    y.dispose();
    return r;
  }
  const y = Tensor.empty(gpu, out, pixels.dtype, 'patchEmbed');
  for (let t0 = 0; t0 < T; t0 += framesPerChunk) {
    const f = Math.min(framesPerChunk, T - t0);
    const part = chunk(t0, f);
    const frames = part.reshape([f, G * G, C]);
    copyRows(y, t0, frames, 0, f);
    frames.dispose();
    part.dispose();
  }
  return y;
}
