// Which sizes each kernel-policy op runs at for one question of a model, from config.json alone:
// what the tuner (ops/tune.ts) times candidates on when it tunes for a model (`llava-st tune
// --model`, and `run`'s first-run tuning), instead of each shape class's fixed trial. This is the
// one place that knows the model's dispatches; test/model/workload.test.ts records a real forward
// of the demo model (Policy.record) and checks that it dispatches exactly these.
//
// Shapes (as in the stage files): T frames, B a vision batch of them (framesPerBatch), N = G²
// tokens a frame, Dv/Iv/Hv SigLIP width, MLP width, heads; D, I, Hq, Hkv, hd the decoder's;
// E the packer's width, L its tokens a frame, k its temporal factor; S prompt tokens, W logits width.
import type { Dispatch, OpName, Sizes, Workload } from '../ops/policy.js';
import { GEMV_MAX_ROWS } from '../ops/policy.js';
import type { ComputeDType } from '../nn/weights.js';
import type { LlavaStConfig } from './config.js';
import { patchChunk } from '../ops/patch_embed.js';
import { FAST_TOKENS_PER_FRAME, TEXT_TOKENS, framesPerBatch, readCheckpointFacts } from './plan.js';

/** The question a workload is for. */
export interface Question {
  kind: 'image' | 'video';
  /** Prompt length, media block included. */
  promptTokens: number;
  /** Tokens generated (the first from the prefill, each later one a decode step). */
  newTokens: number;
  /** The KV cache's capacity beyond the prompt (generate's maxNewTokens); default newTokens. */
  maxNewTokens?: number;
}

/** What the tuner tunes a model for: a full video question (the heaviest: T frames through the
 *  vision tower and the packer) with a chat-sized text around it, and a short answer. */
export function typicalQuestion(c: LlavaStConfig): Question {
  return { kind: 'video', promptTokens: c.videoTokens + c.packer.frames * FAST_TOKENS_PER_FRAME + TEXT_TOKENS, newTokens: 32 };
}

/** The dispatches of `q` on model `c`, by size, with their counts. */
export function modelWorkload(c: LlavaStConfig, q: Question, opts: { compute: ComputeDType; maxBinding: number; name?: string }): Workload {
  const counts = new Map<string, Dispatch>();
  const add = <O extends OpName>(op: O, size: Sizes[O], calls = 1) => {
    if (calls <= 0) return;
    const key = `${op} ${JSON.stringify(size)}`;
    const seen = counts.get(key);
    if (seen) seen.calls += calls; else counts.set(key, { op, size, calls } as Dispatch);
  };
  /** linear(): GEMV for up to GEMV_MAX_ROWS rows. */
  const linear = (M: number, K: number, N: number, calls = 1) => add(M <= GEMV_MAX_ROWS ? 'gemv' : 'gemm', { M, K, N }, calls);
  const { grid, hidden_size: Dv, intermediate_size: Iv, num_attention_heads: Hv, layers: visionLayers } = c.vision;
  const { hidden_size: D, intermediate_size: I, num_attention_heads: Hq, num_key_value_heads: Hkv, head_dim: hd, num_hidden_layers: layers } = c.text;
  const { embed_dim: E, latents: L, temporalFactor } = c.packer;
  const N = grid * grid, W = c.logitsWidth;

  // Vision (siglip.ts), projector (projector.ts), packer's spatial block (packer.ts) per batch of B frames.
  const T = q.kind === 'video' ? c.packer.frames : 1;
  const batch = framesPerBatch(c, opts.compute, opts.maxBinding);
  /** One packer block (PackerBlock.forward): Nq queries, Nk keys. */
  const packerBlock = (Nq: number, Nk: number) => {
    for (const rows of [Nq, Nk, Nk]) {                          // to_q / to_k / to_v, then ln_*
      linear(rows, D, E); add('pointwise', { op: 'gelu_erf', n: rows * E }); linear(rows, E, E);
      add('norm', { op: 'layerNorm', rows, C: E });
    }
    linear(Nq, E, E); linear(Nk, E, E, 2);                       // attn q | k, v
    linear(Nq, E, E); linear(Nq, E, D);                          // out_proj, to_out
  };
  // patch_embed.ts: im2col, then a GEMM [f·N, 3P²]·W[Dv, 3P²]ᵀ per chunk of f frames within a binding.
  const K = c.vision.num_channels * c.vision.patch_size ** 2;
  const framesPerChunk = patchChunk(c.vision.image_size, c.vision.patch_size, Dv, opts.compute === 'f32' ? 4 : 2, opts.maxBinding).frames;
  for (let t0 = 0; t0 < T; t0 += batch) {
    const B = Math.min(batch, T - t0), R = B * N;
    for (let f0 = 0; f0 < B; f0 += framesPerChunk) linear(Math.min(framesPerChunk, B - f0) * N, K, Dv);
    for (let l = 0; l < visionLayers; l++) {
      add('norm', { op: 'layerNorm', rows: R, C: Dv }, 2);
      linear(R, Dv, Dv, 4);                                      // q, k, v, out_proj
      add('attention', { Lq: N, Hq: Hv, Hkv: Hv, D: Dv / Hv, Lmax: N, kvLength: N, causal: false }, B); // frame by frame
      linear(R, Dv, Iv); add('pointwise', { op: 'gelu_tanh', n: R * Iv }); linear(R, Iv, Dv);
    }
    linear(R, Dv, D); add('pointwise', { op: 'gelu_erf', n: R * D }); linear(R, D, D);
    if (q.kind === 'video') packerBlock(B * L, R);
  }
  if (q.kind === 'video') packerBlock((T / temporalFactor) * L, T * L);

  // Decoder (qwen2.ts): the prefill of S rows, then a step of one row for each later token.
  const S = q.promptTokens, capacity = S + (q.maxNewTokens ?? q.newTokens);
  const decoder = (rows: number, kvLength: number, calls: number) => {
    add('norm', { op: 'rmsNorm', rows, C: D }, (2 * layers + 1) * calls);
    linear(rows, D, D, 2 * layers * calls);                      // q_proj, o_proj
    linear(rows, D, Hkv * hd, 2 * layers * calls);               // k_proj, v_proj
    add('attention', { Lq: rows, Hq, Hkv, D: hd, Lmax: capacity, kvLength, causal: true }, layers * calls);
    linear(rows, D, I, 2 * layers * calls);                      // gate_proj, up_proj
    add('pointwise', { op: 'siluMul', n: rows * I }, layers * calls);
    linear(rows, I, D, layers * calls);                          // down_proj
    linear(1, D, W, calls);                                      // logits of the last row
  };
  decoder(S, S, 1);
  // Decode steps attend to S+1.. keys: one size stands for them all, the middle step's.
  decoder(1, S + Math.ceil(q.newTokens / 2), q.newTokens - 1);
  return { name: `${opts.name ?? c.dir}, ${q.kind} question of ${S} tokens, ${q.newTokens} new`, dispatches: [...counts.values()] };
}

/** What the tuner times for a model (loadPolicy's `workload`): its typical question, per compute dtype. */
export function tuningWorkload(c: LlavaStConfig, maxBinding: number): (compute: ComputeDType) => Workload {
  const name = c.dir.replace(/\/+$/, '').split('/').pop() || c.dir;
  return (compute) => modelWorkload(c, typicalQuestion(c), { compute, maxBinding, name });
}

/** The same from a checkpoint folder (config.json and the safetensors headers only). */
export async function tuningWorkloadOf(dir: string, maxBinding: number): Promise<(compute: ComputeDType) => Workload> {
  return tuningWorkload((await readCheckpointFacts(dir)).config, maxBinding);
}
