// Argmax over the last dimension (e.g. a 151960-wide logits row); ties go to the lowest index,
// as torch.argmax does (NaN wins, the first one). x [..., N] -> u32 [...]
// Two dispatches (argmax.wgsl): blocks of WG·PER elements per workgroup spread a single row over
// every core, then one workgroup per row combines the block winners.
import { DTypeError, ShapeError } from '../core/errors.js';
import { Tensor, shapeStr } from '../core/tensor.js';

const WG = 64;
const PER = 64;

export function argmax(x: Tensor): Tensor {
  const N = x.shape[x.rank - 1];
  if (N === undefined || N === 0) throw new ShapeError(`argmax: x ${x.name} ${shapeStr(x.shape)} has no elements along its last dimension`);
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new DTypeError(`argmax: x ${x.name} is ${x.dtype}; only f32 and f16 are supported`);
  const gpu = x.gpu;
  const rows = x.size / N;
  const y = Tensor.empty(gpu, x.shape.slice(0, -1), 'u32', 'argmax');
  if (rows === 0) return y;
  const blocks = Math.ceil(N / (WG * PER));
  const best = Tensor.empty(gpu, [rows, blocks, 2], 'u32', 'argmax.blocks');
  const common = { constants: { WG, PER }, defines: { T: x.dtype }, ...(x.dtype === 'f16' ? { enables: ['f16'] } : {}) };
  const params = new Uint32Array([rows, N, blocks, 0]);
  gpu.kernels.get({ source: 'argmax', entryPoint: 'partial', ...common }).dispatch([x.binding(), best.binding()], rows * blocks, params);
  gpu.kernels.get({ source: 'argmax', entryPoint: 'combine', ...common }).dispatch([best.binding(), y.binding()], rows, params);
  best.dispose();
  return y;
}
