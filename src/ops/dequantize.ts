// Dequantizing on the GPU (src/wgsl/dequantize.wgsl): rows of a QuantTensor expanded into a plain
// f32 [rows, K] tensor, so that the float GEMM kernels can run on them (ops/quant_linear's scratch
// variant). core/quant's dequantizeGroups is its reference.
import { ShapeError } from '../core/errors.js';
import { QUANT_BITS, codesPerWord } from '../core/quant.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import type { QuantTensor } from './quant_linear.js';

/** Rows [row0, row0 + out.shape[0]) of w, dequantized into `out` (f32 [rows, K]). */
export function dequantizeInto(w: QuantTensor, row0: number, out: Tensor): void {
  const [N, K] = w.shape;
  const rows = out.shape[0]!;
  if (out.dtype !== 'f32' || out.rank !== 2 || out.shape[1] !== K || row0 < 0 || row0 + rows > N) {
    throw new ShapeError(`dequantizeInto: ${out.name} ${out.dtype} ${shapeStr(out.shape)} cannot hold rows [${row0}, ${row0 + rows}) of ${w.name} ${shapeStr(w.shape)} as f32`);
  }
  const per = codesPerWord(w.format), KW = K / per;
  const words = rows * KW;
  if (words === 0) return;
  const kernel = w.gpu.kernels.get({ source: 'dequantize', defines: { BITS: QUANT_BITS[w.format], Q: per / 4 } });
  // 1-D up to the workgroup-count limit, then rows of that many workgroups.
  const wgs = Math.ceil(words / 64), gx = Math.min(wgs, w.gpu.limits.maxComputeWorkgroupsPerDimension);
  kernel.dispatch([w.codes.binding(), w.groups.binding(), out.binding()], [gx, Math.ceil(wgs / gx)],
    new Uint32Array([words, row0 * KW, w.group / per, 0]));
}

/** Rows [row0, row0 + rows) of w as a new f32 tensor (tests). */
export function dequantize(w: QuantTensor, row0 = 0, rows = w.shape[0] - row0): Tensor {
  const out = Tensor.empty(w.gpu, [rows, w.shape[1]], 'f32', `${w.name}:dequantized`);
  try { dequantizeInto(w, row0, out); } catch (e) { out.dispose(); throw e; }
  return out;
}
