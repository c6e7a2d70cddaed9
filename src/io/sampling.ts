// Video frame sampling (architecture.md §3.2, LLaVA-ST `load_video`):
//   frame_idx[i] = s0 + round((i / (n−1)) · (D − 1)),  D = s1 − s0 + 1,  i = 0 … n−1
// with Python's round (half to even) on float64 values computed in Python's order: i/(n−1) first.

import { InputError } from '../core/errors.js';
import { pyRound } from './python.js';

/** The model's fixed number of frames: the temporal LAPE table has 100 rows. */
export const NUM_FRAMES = 100;

/** The n frame indices sampled from the inclusive frame range [s0, s1]; short clips repeat frames. */
export function sampleFrameIndices(s0: number, s1: number, n: number = NUM_FRAMES): number[] {
  if (!Number.isSafeInteger(s0) || !Number.isSafeInteger(s1) || s0 < 0 || s1 < s0) {
    throw new InputError(`sampleFrameIndices: split [${s0}, ${s1}] must be integers with 0 <= s0 <= s1`);
  }
  if (!Number.isSafeInteger(n) || n < 2) {
    throw new InputError(`sampleFrameIndices: n must be an integer >= 2, got ${n}`);
  }
  const span = s1 - s0; // D − 1
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) idx[i] = s0 + pyRound((i / (n - 1)) * span);
  return idx;
}
