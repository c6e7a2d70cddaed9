// Sampling a token from one logits row, as Hugging Face's generate() does with do_sample: the
// logits processors in HF's order (repetition penalty over the generated ids, temperature, top-k,
// top-p), then one draw from a seeded generator so that runs repeat. Greedy decoding does not come
// here: it is an argmax on the GPU (llava_st.ts).
import type { GenerationConfig } from './config.js';

export interface SamplingOptions { temperature?: number; top_k?: number; top_p?: number; repetition_penalty?: number; seed?: number }

/** `true` = generation_config.json's knobs; explicit values win over them. */
export function samplingWithDefaults(s: true | SamplingOptions, g: GenerationConfig): SamplingOptions {
  const out: SamplingOptions = s === true ? {} : { ...s };
  if (out.temperature === undefined && g.temperature !== undefined) out.temperature = g.temperature;
  if (out.top_k === undefined && g.top_k !== undefined) out.top_k = g.top_k;
  if (out.top_p === undefined && g.top_p !== undefined) out.top_p = g.top_p;
  if (out.repetition_penalty === undefined && g.repetition_penalty !== undefined) out.repetition_penalty = g.repetition_penalty;
  return out;
}

/** The id drawn from `logits` after `generated`: the processors, then a mulberry32 draw seeded by (seed, step). */
export function sample(logits: Float32Array, generated: readonly number[], o: SamplingOptions): number {
  const x = Float64Array.from(logits);
  const rp = o.repetition_penalty ?? 1;
  if (rp !== 1) for (const id of new Set(generated)) x[id] = x[id]! > 0 ? x[id]! / rp : x[id]! * rp;
  const temp = o.temperature ?? 1;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / temp;
  let order = [...x.keys()].sort((a, b) => x[b]! - x[a]! || a - b);
  if (o.top_k && o.top_k > 0) order = order.slice(0, o.top_k);
  const max = x[order[0]!]!;
  let probs = order.map((i) => Math.exp(x[i]! - max));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (o.top_p !== undefined && o.top_p < 1) {
    let acc = 0, keep = 0;
    while (keep < probs.length && (keep === 0 || acc < o.top_p)) acc += probs[keep++]!;
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let s = (o.seed ?? 0) + generated.length * 0x9e3779b9 >>> 0;
  s = (s + 0x6d2b79f5) >>> 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  let u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  for (let k = 0; k < order.length; k++) { u -= probs[k]!; if (u <= 0) return order[k]!; }
  return order[order.length - 1]!;
}
