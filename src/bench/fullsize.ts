// `llava-st bench fullsize`: the real 7B layout at full size on this machine. Writes a random-weight
// checkpoint (LLaVA-ST-Qwen2-7B shapes, architecture.md §14: 4 bf16 shards + index, ~16.3 GB; the
// tokenizer files come from the demo model, whose vocabulary is the real one), then for each weight
// format loads it in a fresh process with `run`'s own path (plan -> layout -> Assistant.load) and
// answers a text-only question: load rate (GB/s of checkpoint read), peak RSS, time per token.
// Each format runs alone in its own process, so one's memory never adds to the next's.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../core/device.js';
import { expectedTensors } from '../model/weight_names.js';
import { Assistant, type MediaInput } from '../tasks/assistant.js';
import { resolveLayout } from '../cli/plan.js';
import { parseWeights } from '../cli/plan.js';
import { gib } from '../model/plan.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TOKENIZER_FROM = join(ROOT, 'models', 'llava-st-synth');

/** config.json of LLaVA-ST-Qwen2-7B (the fields the loader reads). SigLIP so400m is the default tower. */
export const LLAVA_ST_7B_CONFIG = {
  architectures: ['LlavaQwenForCausalLM'], model_type: 'llava_qwen', hidden_act: 'silu', torch_dtype: 'bfloat16',
  hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 28, num_attention_heads: 28, num_key_value_heads: 4,
  vocab_size: 151660, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1e6, rope_scaling: null,
  tie_word_embeddings: false, use_sliding_window: false, bos_token_id: 151643, eos_token_id: 151645,
  mm_hidden_size: 1152, mm_projector_type: 'mlp2x_gelu', mm_resampler_type: 'fast_slow_resampler', mm_patch_merge_type: 'flat',
  mm_perceiver_latents: 81, mm_perceiver_latents_fast: 9, max_frame: 100, num_temporal_tokens: 100, num_spatial_tokens: 100,
  mm_vision_tower: 'google/siglip-so400m-patch14-384', use_downsample_image: false,
};

const SHARDS = 4;

/** name -> shape of a full 7B checkpoint as released: what the model reads plus the unused tensors. */
function checkpointTensors(): [string, number[]][] {
  const m = expectedTensors(LLAVA_ST_7B_CONFIG);
  const fast = [...m].filter(([n]) => n.startsWith('model.vision_resampler.token_packer.'))
    .map(([n, s]): [string, number[]] => [n.replace('token_packer.', 'token_packer_fast.'), s]);
  const post = 'model.vision_tower.vision_tower.vision_model.post_layernorm';
  return [...m, ...fast, [`${post}.weight`, [1152]], [`${post}.bias`, [1152]]];
}

/** Writes the random checkpoint into `dir` (skipped when its index is already there). */
export function writeRandomCheckpoint(dir: string, log: (s: string) => void): number {
  const index = join(dir, 'model.safetensors.index.json');
  const tensors = checkpointTensors();
  const bytesOf = (s: number[]) => s.reduce((a, b) => a * b, 1) * 2;
  const total = tensors.reduce((a, [, s]) => a + bytesOf(s), 0);
  if (existsSync(index)) { log(`reusing ${dir}`); return total; }
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(TOKENIZER_FROM)) {
    if (/\.(json|txt)$/.test(f) && f !== 'config.json' && f !== 'vision_tower_config.json') copyFileSync(join(TOKENIZER_FROM, f), join(dir, f));
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(LLAVA_ST_7B_CONFIG, null, 2));
  // Random bf16 in ±0.03 from one 64 MiB block, read at a different offset by each tensor.
  const block = new Uint16Array(32 << 20);
  let s = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const f = new Float32Array([((s / 2 ** 32) * 2 - 1) * 0.03]);
    block[i] = new Uint16Array(f.buffer)[1]!;
  }
  const blockBytes = new Uint8Array(block.buffer);
  const weightMap: Record<string, string> = {};
  const per = total / SHARDS;
  let t = 0, written = 0;
  const t0 = performance.now();
  for (let shard = 1; shard <= SHARDS; shard++) {
    const file = `model-0000${shard}-of-0000${SHARDS}.safetensors`;
    const mine: [string, number[]][] = [];
    let bytes = 0;
    while (t < tensors.length && (shard === SHARDS || bytes < per)) { mine.push(tensors[t]!); bytes += bytesOf(tensors[t]![1]); t++; }
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const [name, shape] of mine) {
      header[name] = { dtype: 'BF16', shape, data_offsets: [off, off + bytesOf(shape)] };
      off += bytesOf(shape);
      weightMap[name] = file;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const fd = openSync(join(dir, file), 'w');
    try {
      const len = new Uint8Array(8);
      new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
      writeSync(fd, len);
      writeSync(fd, new TextEncoder().encode(json));
      let k = 0;
      for (const [, shape] of mine) {
        let left = bytesOf(shape);
        let at = ((k++ * 7919) % 4096) * 2;
        while (left > 0) {
          const n = Math.min(left, blockBytes.length - at);
          writeSync(fd, blockBytes, at, n);
          left -= n; written += n; at = 0;
        }
      }
    } finally { closeSync(fd); }
    log(`wrote ${file} (${gib(bytes)}, ${(written / 1e9 / ((performance.now() - t0) / 1000)).toFixed(2)} GB/s)`);
  }
  writeFileSync(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return total;
}

export interface FullsizeRow {
  weights: string; loadS: number; loadGBs: number; gpuWeightsGiB: number; peakRssGiB: number; peakTensorGiB: number;
  promptTokens: number; prefillS: number; sPerToken: number; newTokens: number; text: string;
}

/** The child: plan, load, answer; prints one JSON line. */
export async function fullsizeChild(dir: string, weights: string, tokens: number, media?: MediaInput): Promise<FullsizeRow> {
  const gpu = await requestGpu();
  try {
    const { layout } = await resolveLayout(gpu, dir, { compute: 'f32', want: parseWeights(weights), group: 32, maxNewTokens: tokens });
    const ckptBytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    const t0 = performance.now();
    let n = 0;
    const assistant = await Assistant.load(gpu, dir, { dtype: 'f32', weights: { format: layout.format, group: layout.group },
      onProgress: () => { if (++n % 50 === 0) process.stderr.write(`  ${n} tensors loaded\r`); } });
    const loadS = (performance.now() - t0) / 1000;
    const gpuWeights = assistant.model.weights.bytes;
    try {
    process.stderr.write(`\n  ${layout.format}: loaded in ${loadS.toFixed(0)} s, RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB; answering...\n`);
      const t1 = performance.now();
      const r = await assistant.ask({ question: 'Describe what you see.', maxNewTokens: tokens, ...(media ? { media } : {}),
        onProgress: (stage, done) => { if (stage === 'generate') process.stderr.write(`  token ${done} at ${((performance.now() - t1) / 1000).toFixed(0)} s\n`); } });
      const steps = r.ids.length;
      return {
        weights: layout.format, loadS, loadGBs: ckptBytes / 1e9 / loadS, gpuWeightsGiB: gpuWeights / 2 ** 30,
        peakRssGiB: process.resourceUsage().maxRSS * 1024 / 2 ** 30, peakTensorGiB: gpu.tensors.peakBytes / 2 ** 30,
        promptTokens: r.promptTokens, prefillS: r.timings.prefillMs / 1000,
        sPerToken: steps > 1 ? r.timings.decodeMs / 1000 / (steps - 1) : NaN, newTokens: steps, text: r.text,
      };
    } finally { assistant.dispose(); }
  } finally { gpu.destroy(); }
}

/** Writes the checkpoint, runs one child per format, prints the table; deletes the checkpoint unless keep. */
export function benchFullsize(o: { dir: string; formats: string[]; tokens: number; keep: boolean; image?: string }, log: (s: string) => void = console.log): FullsizeRow[] {
  const bytes = writeRandomCheckpoint(o.dir, log);
  log(`checkpoint: ${o.dir}, ${(bytes / 1e9).toFixed(2)} GB of bf16 in ${SHARDS} shards`);
  const rows: FullsizeRow[] = [];
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  try {
    for (const f of o.formats) {
      log(`--weights ${f}: loading in a fresh process...`);
      const args = [main, 'bench', 'fullsize', '--child', '--dir', o.dir, '--weights', f, '--tokens', String(o.tokens), ...(o.image ? ['--image', o.image] : [])];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !line.startsWith('{')) { log(`  --weights ${f}: failed (exit ${r.status ?? r.signal}) ${line}`); continue; }
      const row = JSON.parse(line) as FullsizeRow;
      rows.push(row);
      log(`  ${row.weights}: load ${row.loadS.toFixed(0)} s (${row.loadGBs.toFixed(2)} GB/s of bf16 read), GPU weights ${row.gpuWeightsGiB.toFixed(2)} GiB, ` +
        `peak RSS ${row.peakRssGiB.toFixed(2)} GiB, prefill ${row.promptTokens} tokens ${row.prefillS.toFixed(1)} s, ${row.sPerToken.toFixed(2)} s/token`);
    }
  } finally {
    if (!o.keep) rmSync(o.dir, { recursive: true, force: true });
  }
  return rows;
}
