// Language-Aligned Positional Embedding (architecture.md §5.2-5.3). Six learned [bins, D] tables:
// temporal / height / width, each an input (Embedding) and an output (Linear) version. The visual
// position signal is the mean of the two, so a token at row r, column c of frame t gets the same
// vectors the coordinate words <HEIGHT-r'>, <WIDTH-c'>, <TEMP-t'> are made of.
//
//   Ttab, Htab, Wtab = (in + out) / 2                              [bins, D]
//   Hrow, Wcol = linear resample bins -> G (align_corners=False)   [G, D]
//   v[t, r, c] = ((v + Hrow[r]) + Wcol[c]) + Ttab[t]                (image: t = 0)
//
// "reparam" (NTP) is the identity in the forward pass (W + R − R), so the raw tables are used.
// Shapes: T frames, G grid side, N = G², D LLM width, bins 100.
import { keep, scope } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { add, mul } from '../ops/elementwise.js';
import { lerpRows } from '../ops/gather.js';
import { sliceRows } from '../ops/copy.js';
import type { Taps } from '../nn/taps.js';
import type { WeightSource } from '../nn/weights.js';
import type { CoordinateKind } from './coordinate_vocab.js';

/** The six tables, shared by LAPE, the extended input vocabulary and the extended head. */
export class CoordinateTables {
  readonly input: Record<CoordinateKind, Tensor>;
  readonly output: Record<CoordinateKind, Tensor>;
  constructor(w: WeightSource, width: number, bins: Record<CoordinateKind, number>) {
    const take = (kind: CoordinateKind, side: string) => w.take(`model.${kind}_${side}_embeddings.weight`, [bins[kind], width]);
    this.input = { temporal: take('temporal', 'input'), spatial_height: take('spatial_height', 'input'), spatial_width: take('spatial_width', 'input') };
    this.output = { temporal: take('temporal', 'output'), spatial_height: take('spatial_height', 'output'), spatial_width: take('spatial_width', 'output') };
  }
}

/**
 * PyTorch's F.interpolate(mode='linear', align_corners=False) source indices, in f32 as its CPU
 * kernel computes them: src = scale·(r + 0.5) − 0.5 clamped at 0, i0 = ⌊src⌋, λ = src − i0.
 */
export function linearResampleIndices(inSize: number, outSize: number): { i0: number[]; i1: number[]; lambda: number[] } {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const i0: number[] = [], i1: number[] = [], lambda: number[] = [];
  for (let r = 0; r < outSize; r++) {
    let src = f(f(scale * f(r + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0.push(lo);
    i1.push(lo < inSize - 1 ? lo + 1 : lo);
    lambda.push(Math.min(Math.max(f(src - lo), 0), 1));
  }
  return { i0, i1, lambda };
}

interface LapeTables {
  temporal: Tensor;   // Ttab [bins_t, D]
  height: Tensor;     // Htab [bins_s, D]
  width: Tensor;      // Wtab [bins_s, D]
  rows: Tensor;       // Hrow [G, D]
  cols: Tensor;       // Wcol [G, D]
}

export class Lape {
  private tables: LapeTables | undefined;

  constructor(readonly coords: CoordinateTables, readonly grid: number) {}

  /** The averaged and resampled tables, computed once from the loaded weights. */
  prepare(): LapeTables {
    if (this.tables) return this.tables;
    const t = scope(() => {
      const gpu = this.coords.input.temporal.gpu;
      const half = this.coords.input.temporal.dtype === 'f32'
        ? Tensor.fromArray(gpu, new Float32Array([0.5]), [1], 'f32', 'half')
        : Tensor.fromArray(gpu, new Uint16Array([0x3800]), [1], 'f16', 'half');             // 0.5 in f16 bits
      const mean = (k: CoordinateKind) => mul(add(this.coords.input[k], this.coords.output[k]), half);
      const temporal = mean('temporal'), height = mean('spatial_height'), width = mean('spatial_width');
      const resample = (tab: Tensor) => {
        const { i0, i1, lambda } = linearResampleIndices(tab.shape[0]!, this.grid);
        return lerpRows(tab, i0, i1, lambda);
      };
      return { temporal, height, width, rows: resample(height), cols: resample(width) };
    });
    for (const x of Object.values(t)) keep(x);
    this.tables = t;
    return t;
  }

  /** Taps: lape.temporal_table/height_table/width_table [bins, 1, D], lape.height_resized/width_resized [G, D]. */
  captureTables(taps: Taps | undefined): void {
    if (!taps) return;
    const t = this.prepare();
    scope(() => {
      taps.capture('lape.temporal_table', t.temporal.reshape([t.temporal.shape[0]!, 1, t.temporal.shape[1]!]));
      taps.capture('lape.height_table', t.height.reshape([t.height.shape[0]!, 1, t.height.shape[1]!]));
      taps.capture('lape.width_table', t.width.reshape([t.width.shape[0]!, 1, t.width.shape[1]!]));
      taps.capture('lape.height_resized', t.rows);
      taps.capture('lape.width_resized', t.cols);
    });
  }

  /**
   * Frames t0..t0+B−1's projected tokens v [B·N, D] -> v + position [B·N, D], added in the
   * reference's order ((v + H[row]) + W[col]) + T[frame]. Taps: lape.temporal_used [B, D].
   */
  forwardFrames(v: Tensor, t0: number, frames: number, taps?: Taps): Tensor {
    const tabs = this.prepare();
    return scope(() => {
      const G = this.grid, D = v.shape[1]!;
      const tsel = sliceRows(tabs.temporal, t0, t0 + frames);                           // [B, D]
      taps?.capture('lape.temporal_used', tsel);
      const x = add(add(add(v.reshape([frames, G, G, D]), tabs.rows.reshape([G, 1, D])), tabs.cols), tsel.reshape([frames, 1, 1, D]));
      return x.reshape([frames * G * G, D]);
    });
  }

  dispose(): void {
    if (this.tables) for (const x of Object.values(this.tables)) x.dispose();
    this.tables = undefined;
  }
}
