// Dtype conversions on the GPU: f32 <-> f16, and bf16 (raw 16-bit words, two per u32) -> f32,
// which is a shift since bf16 is the top half of an f32.
// Tensors larger than one storage binding are converted range by range (binding offsets), so the
// loader can widen a whole checkpoint tensor in place of a CPU pass.
import { DTypeError, LimitError, ShapeError } from '../core/errors.js';
import { Tensor, numel, shapeStr, type Shape } from '../core/tensor.js';
import type { Gpu } from '../core/device.js';

const WG = 64;
/** Units (vec4 or scalar) per invocation; see convert.wgsl. */
export const CONVERT_CHUNK = 4;

type Float = 'f32' | 'f16';

interface Plan {
  IN: string; OUT: string; STORE: string;
  /** Elements per unit (4: vec4 or vec2<u32> of bf16 words; 1: scalar; 2: one bf16 word). */
  perUnit: number;
  inBytesPerUnit: number; outBytesPerUnit: number;
}

function castPlan(from: Float, to: Float, n: number): Plan {
  const v = n % 4 === 0;
  const b = (d: Float) => (d === 'f32' ? 4 : 2);
  const sizes = { perUnit: v ? 4 : 1, inBytesPerUnit: b(from) * (v ? 4 : 1), outBytesPerUnit: b(to) * (v ? 4 : 1) };
  // f32 -> f16 in vec4s: written as packed u32 pairs, rounded by f16_bits (lavapipe's native f16
  // stores and pack2x16float are several times slower; same bits)
  if (v && from === 'f32' && to === 'f16') return { IN: 'vec4<f32>', OUT: 'vec2<u32>', STORE: 'dst[j] = pack_f16x4(src[j]);', ...sizes };
  const IN = v ? `vec4<${from}>` : from, OUT = v ? `vec4<${to}>` : to;
  return { IN, OUT, STORE: `dst[j] = ${OUT}(src[j]);`, ...sizes };
}

function bf16Plan(to: Float, n: number): Plan {
  const ob = to === 'f32' ? 4 : 2;
  if (n % 4 === 0) {
    return {
      IN: 'vec2<u32>', OUT: to === 'f16' ? 'vec2<u32>' : 'vec4<f32>', perUnit: 4, inBytesPerUnit: 8, outBytesPerUnit: 4 * ob,
      STORE: `let w = vec4<f32>(widen_bf16(src[j].x), widen_bf16(src[j].y)); dst[j] = ${to === 'f16' ? 'pack_f16x4(w)' : 'w'};`,
    };
  }
  return {
    IN: 'u32', OUT: to, perUnit: 2, inBytesPerUnit: 4, outBytesPerUnit: 2 * ob,
    STORE: `let w = widen_bf16(src[j]); dst[2u * j] = ${to}(w.x); if (2u * j + 1u < p.count) { dst[2u * j + 1u] = ${to}(w.y); }`,
  };
}

/** Runs a plan over n elements, splitting into ranges that fit one binding at aligned offsets. */
function runPlan(gpu: Gpu, plan: Plan, src: GPUBuffer, dst: Tensor, n: number, label: string): void {
  const units = Math.ceil(n / plan.perUnit);
  const maxBinding = gpu.limits.maxStorageBufferBindingSize;
  // Units per range: fits both bindings, and a multiple of the offset alignment (in units), so every
  // range starts at an aligned byte offset on both sides.
  const align = gpu.limits.minStorageBufferOffsetAlignment;
  const perRange = Math.floor(maxBinding / Math.max(plan.inBytesPerUnit, plan.outBytesPerUnit) / align) * align;
  if (perRange === 0) throw new LimitError(`${label}: maxStorageBufferBindingSize ${maxBinding} is too small to convert in aligned ranges`);
  const kernel = gpu.kernels.get({
    source: 'convert', defines: { IN: plan.IN, OUT: plan.OUT, STORE: plan.STORE },
    constants: { WG, CHUNK: CONVERT_CHUNK }, ...(plan.IN.includes('f16') || plan.OUT.includes('f16') ? { enables: ['f16'] } : {}),
  });
  for (let u0 = 0; u0 < units; u0 += perRange) {
    const u = Math.min(perRange, units - u0);
    const count = Math.min(n - u0 * plan.perUnit, u * plan.perUnit);
    const inBytes = plan.perUnit === 2 ? u * 4 : Math.ceil((count * plan.inBytesPerUnit) / plan.perUnit);
    const outBytes = Math.ceil((count * plan.outBytesPerUnit) / plan.perUnit);
    kernel.dispatch([
      { buffer: src, offset: u0 * plan.inBytesPerUnit, size: inBytes, label: `${label} input` },
      { buffer: dst.buffer, offset: u0 * plan.outBytesPerUnit, size: outBytes, label: `${label} output` },
    ], Math.ceil(u / (WG * CONVERT_CHUNK)), new Uint32Array([u, count, 0, 0]));
  }
}

export function convert(x: Tensor, dtype: 'f32' | 'f16'): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`convert: ${x.name} is ${x.dtype}; only f32 and f16 convert`);
  if (dtype !== 'f32' && dtype !== 'f16') throw new DTypeError(`convert: target dtype ${String(dtype)} is not f32 or f16`);
  const y = Tensor.empty(x.gpu, x.shape, dtype, `${x.name}.${dtype}`);
  if (x.size === 0) return y;
  if (x.dtype === dtype) {
    x.gpu.stream.copy(x.buffer, 0, y.buffer, 0, Math.ceil(x.byteSize / 4) * 4);
    return y;
  }
  runPlan(x.gpu, castPlan(x.dtype, dtype, x.size), x.buffer, y, x.size, `convert ${x.name} ${shapeStr(x.shape)}`);
  return y;
}

function checkRaw(op: string, raw: Tensor, shape: Shape): number {
  if (raw.dtype !== 'u32') throw new DTypeError(`${op}: raw ${raw.name} is ${raw.dtype}; packed bf16 comes as u32 words`);
  const n = numel(shape);
  if (raw.size !== Math.ceil(n / 2)) {
    throw new ShapeError(`${op}: raw ${raw.name} ${shapeStr(raw.shape)} holds ${raw.size} words, shape ${shapeStr(shape)} needs ceil(${n}/2) = ${Math.ceil(n / 2)}`);
  }
  return n;
}

function fromBf16(op: string, raw: Tensor, shape: Shape, to: Float): Tensor {
  const n = checkRaw(op, raw, shape);
  const y = Tensor.empty(raw.gpu, shape, to, `${raw.name}.${to}`);
  if (n > 0) runPlan(raw.gpu, bf16Plan(to, n), raw.buffer, y, n, `${op} ${raw.name}`);
  return y;
}

/** raw: u32 tensor holding ceil(n/2) words of packed bf16 (little-endian) -> f32 tensor of `shape`. */
export function bf16ToF32(raw: Tensor, shape: Shape): Tensor {
  return fromBf16('bf16ToF32', raw, shape, 'f32');
}

/** raw packed bf16 as above -> f16 tensor of `shape` (rounded to nearest even). */
export function bf16ToF16(raw: Tensor, shape: Shape): Tensor {
  return fromBf16('bf16ToF16', raw, shape, 'f16');
}
