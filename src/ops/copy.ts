// Moving rows around without compute: copies between tensors along the first dimension (buffer
// copies, no kernel), concatenation and slicing of rows. Copies whose byte offsets or size are not
// multiples of 4 (f16 rows of odd length) go through the halfword kernel copy.wgsl instead.
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';

const WG = 64;

function rowElems(t: Tensor): number {
  return t.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** dst bytes [dstOff, +size) = src bytes [srcOff, +size), offsets and size multiples of 2. */
function copyBytes(src: Tensor, srcOff: number, dst: Tensor, dstOff: number, size: number): void {
  const gpu = dst.gpu;
  if (size === 0) return;
  if (srcOff % 4 === 0 && dstOff % 4 === 0 && size % 4 === 0) {
    gpu.stream.copy(src.buffer, srcOff, dst.buffer, dstOff, size);
    return;
  }
  if (src.buffer === dst.buffer) throw new ShapeError(`copyRows: ${src.name} to ${dst.name}: an unaligned copy within one buffer is not supported`);
  // Bind each side from an aligned start; the kernel's half offsets are relative to those starts.
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  const s0 = srcOff - (srcOff % align), d0 = dstOff - (dstOff % align);
  const s1 = Math.ceil((srcOff + size) / 4) * 4, d1 = Math.ceil((dstOff + size) / 4) * 4;
  const dstHalf = (dstOff - d0) / 2, n = size / 2;
  const words = Math.floor((dstHalf + n - 1) / 2) - Math.floor(dstHalf / 2) + 1;
  gpu.kernels.get({ source: 'copy', constants: { WG } }).dispatch([
    { buffer: src.buffer, offset: s0, size: s1 - s0, label: `${src.name} ${shapeStr(src.shape)}` },
    { buffer: dst.buffer, offset: d0, size: d1 - d0, label: `${dst.name} ${shapeStr(dst.shape)}` },
  ], Math.ceil(words / WG), new Uint32Array([dstHalf, (srcOff - s0) / 2, n, words]));
}

/** dst[dstRow .. dstRow+rows) = src[srcRow .. srcRow+rows), rows of the trailing dimensions. */
export function copyRows(dst: Tensor, dstRow: number, src: Tensor, srcRow: number, rows: number): void {
  if (dst.dtype !== src.dtype) throw new DTypeError(`copyRows: src ${src.name} is ${src.dtype} but dst ${dst.name} is ${dst.dtype}`);
  if (dst.rank < 1 || src.rank !== dst.rank || src.shape.some((d, i) => i > 0 && d !== dst.shape[i])) {
    throw new ShapeError(`copyRows: rows of src ${src.name} ${shapeStr(src.shape)} and dst ${dst.name} ${shapeStr(dst.shape)} differ`);
  }
  for (const [what, t, r] of [['src', src, srcRow], ['dst', dst, dstRow]] as const) {
    if (!Number.isInteger(r) || !Number.isInteger(rows) || r < 0 || rows < 0 || r + rows > t.shape[0]!) {
      throw new ShapeError(`copyRows: rows [${r}, ${r + rows}) are outside ${what} ${t.name} ${shapeStr(t.shape)}`);
    }
  }
  const rowBytes = rowElems(src) * BYTES_PER_ELEMENT[src.dtype];
  if (src.buffer === dst.buffer && srcRow < dstRow + rows && dstRow < srcRow + rows) {
    throw new ShapeError(`copyRows: rows [${srcRow}, ${srcRow + rows}) and [${dstRow}, ${dstRow + rows}) of ${src.name} overlap`);
  }
  copyBytes(src, srcRow * rowBytes, dst, dstRow * rowBytes, rows * rowBytes);
}

/** x[start .. end) along the first dimension, a new tensor. */
export function sliceRows(x: Tensor, start: number, end: number): Tensor {
  if (x.rank < 1 || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > x.shape[0]!) {
    throw new ShapeError(`sliceRows: [${start}, ${end}) is not a row range of ${x.name} ${shapeStr(x.shape)}`);
  }
  const y = Tensor.empty(x.gpu, [end - start, ...x.shape.slice(1)], x.dtype, `${x.name}[${start}:${end}]`);
  copyRows(y, 0, x, start, end - start);
  return y;
}

/** Concatenation along the first dimension; every part has the same trailing shape and dtype. */
export function concatRows(parts: Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw new ShapeError('concatRows: no parts');
  let rows = 0;
  for (const p of parts) {
    if (p.dtype !== first.dtype) throw new DTypeError(`concatRows: ${p.name} is ${p.dtype} but ${first.name} is ${first.dtype}`);
    if (p.rank !== first.rank || p.rank < 1 || p.shape.some((d, i) => i > 0 && d !== first.shape[i])) {
      throw new ShapeError(`concatRows: ${p.name} ${shapeStr(p.shape)} and ${first.name} ${shapeStr(first.shape)} differ past the first dimension`);
    }
    rows += p.shape[0]!;
  }
  const y = Tensor.empty(first.gpu, [rows, ...first.shape.slice(1)], first.dtype, 'concatRows');
  let r = 0;
  for (const p of parts) {
    copyRows(y, r, p, 0, p.shape[0]!);
    r += p.shape[0]!;
  }
  return y;
}
