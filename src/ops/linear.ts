// Linear layers y = x·Wᵀ (+ b), W stored [out, in] as checkpoints store it. Picks the kernel by
// shape and adapter: register-tiled GEMM for many rows (prefill, vision), GEMV for one row (decode).
// Weights larger than maxStorageBufferBindingSize are SplitWeights (row chunks), handled here.
//
// x [..., K] f32|f16, W [N, K] f32|f16 (f16 weights accumulate in f32), b [N] -> y [..., N] (x's dtype)
import { Tensor } from '../core/tensor.js';
import { notImplemented } from './todo.js';

/** A [N, K] weight stored as row chunks, each within maxStorageBufferBindingSize. */
export class SplitWeight {
  constructor(readonly parts: Tensor[], readonly shape: readonly [number, number], readonly name: string) {}
  get dtype() { return this.parts[0]!.dtype; }
  get disposed(): boolean { return this.parts.every((p) => p.disposed); }
  dispose(): void { for (const p of this.parts) p.dispose(); }
}

export type Weight = Tensor | SplitWeight;

export function linear(x: Tensor, w: Weight, bias?: Tensor): Tensor {
  void x; void w; void bias;
  return notImplemented('linear');
}
