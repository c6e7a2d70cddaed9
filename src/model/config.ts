// The model's configuration, read from the checkpoint directory with HF keys as they are:
//   config.json               Qwen2 + LLaVA keys (architecture.md §8, §15)
//   vision_tower_config.json  the SigLIP tower (optional; else so400m-patch14-384, §2)
//   generation_config.json    eos ids and sampling knobs (optional)
//   special_tokens.json       token -> id (optional; else derived from vocab_size, §5.1)
// Anything the implementation does not support is a ConfigError naming the key.
import { ConfigError } from '../core/errors.js';
import { SourceError, readText, type ModelSource } from '../core/source.js';

/** Qwen2 decoder (config.json keys). */
export interface TextConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  vocab_size: number;
  max_position_embeddings: number;
  head_dim: number;
  /**
   * transformers 4.40 caches RoPE cos/sin in the dtype the model was built in (torch_dtype): the
   * reference for a bfloat16 checkpoint rounds them to bf16 even when it then computes in f32.
   */
  rope_table_dtype: 'f32' | 'bf16' | 'f16';
}

/** SigLIP tower (vision_tower_config.json keys); `layers` is what the checkpoint holds. */
export interface VisionConfig {
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  patch_size: number;
  image_size: number;
  num_channels: number;
  layer_norm_eps: number;
  layers: number;
  /** Patches per side: floor(image_size / patch_size) (27). */
  grid: number;
}

/** Spatial-Temporal Packer (§6); latents from config.json, widths from vision_tower_config.json. */
export interface PackerConfig {
  embed_dim: number;
  num_heads: number;
  /** mm_perceiver_latents (81): a square grid per frame. */
  latents: number;
  /** Side of that grid (9) and the spatial factor grid / side (3). */
  side: number;
  spatialFactor: number;
  /** Frames in, temporal slots out (100 -> 20) and the factor (5). */
  frames: number;
  temporalLatents: number;
  temporalFactor: number;
  /** LayerNorm eps of ln_q/k/v (nn.LayerNorm default). */
  ln_eps: number;
}

export interface GenerationConfig {
  eos_token_id: number[];
  temperature?: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
  do_sample?: boolean;
}

/** The special tokens by name (§5.1 table). */
export const SPECIAL_TOKEN_NAMES = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<im_start>', '<im_end>', '<im_patch>', '<vid_start>', '<vid_end>',
  '<vid_patch>', '<slow_vid_start>', '<slow_vid_end>', '<TEMP-INPUT>', '<TEMP-OUTPUT>', '<HEIGHT-INPUT>',
  '<HEIGHT-OUTPUT>', '<WIDTH-INPUT>', '<WIDTH-OUTPUT>',
] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

export interface LlavaStConfig {
  dir: string;
  text: TextConfig;
  vision: VisionConfig;
  packer: PackerConfig;
  /** Rows of each coordinate table (num_temporal_tokens, num_spatial_tokens): 100 bins. */
  temporalBins: number;
  spatialBins: number;
  /** Visual tokens an image contributes (grid²) and a video (temporalLatents · latents). */
  imageTokens: number;
  videoTokens: number;
  generation: GenerationConfig;
  tokens: Record<SpecialTokenName, number>;
  /** Width of the logits: vocab_size + 3·bins. */
  logitsWidth: number;
}

/** SigLIP so400m-patch14-384 (§2), when the checkpoint ships no vision_tower_config.json. */
export const SO400M = {
  hidden_size: 1152, intermediate_size: 4304, num_hidden_layers: 27, num_attention_heads: 16, patch_size: 14,
  image_size: 384, num_channels: 3, layer_norm_eps: 1e-6, hidden_act: 'gelu_pytorch_tanh',
} as const;
export const DEFAULT_PACKER_EMBED_DIM = 1024;
export const DEFAULT_PACKER_HEADS = 8;
/** A constructor default of the released packer, not a config key (§6). */
export const TEMPORAL_LATENTS = 20;

type Json = Record<string, unknown>;

/** Config files are small: anything over this is the wrong file. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

async function readJson(source: ModelSource, name: string, optional: boolean): Promise<Json | undefined> {
  const path = source.where(name);
  let text: string | undefined;
  try {
    text = await readText(source, name, MAX_CONFIG_BYTES);
  } catch (e) {
    throw new ConfigError(path, `cannot read: ${e instanceof SourceError ? e.reason : (e as Error).message}`);
  }
  if (text === undefined) {
    if (optional) return undefined;
    throw new ConfigError(path, 'cannot read: no such file');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, `is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, 'is not a JSON object');
  return v as Json;
}

/** Typed readers of one JSON file; every failure names the file and key. */
class Keys {
  constructor(readonly file: string, readonly j: Json) {}
  int(key: string, fallback?: number): number {
    const v = this.j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new ConfigError(this.file, `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }
  num(key: string, fallback?: number): number {
    const v = this.j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(this.file, `"${key}" must be a finite number, got ${JSON.stringify(v)}`);
    return v;
  }
  optNum(key: string): number | undefined {
    return this.j[key] === undefined || this.j[key] === null ? undefined : this.num(key);
  }
  /** The key, when present, must equal one of `allowed` (absent: the first is assumed). */
  oneOf(key: string, allowed: readonly unknown[]): void {
    if (!(key in this.j)) return;
    if (!allowed.includes(this.j[key])) {
      throw new ConfigError(this.file, `"${key}" is ${JSON.stringify(this.j[key])}; supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
  }
  ids(key: string): number[] | undefined {
    const v = this.j[key];
    if (v === undefined || v === null) return undefined;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
      throw new ConfigError(this.file, `"${key}" must be a token id or a list of ids, got ${JSON.stringify(v)}`);
    }
    return list as number[];
  }
}

export interface ConfigSources {
  config: Json;
  visionConfig?: Json | undefined;
  generationConfig?: Json | undefined;
  specialTokens?: Json | undefined;
  /** Packer width read off the checkpoint (to_q.0.weight rows) when no config states it. */
  packerEmbedDimFromCheckpoint?: number | undefined;
  /** Where the files came from (a folder path or a URL), for messages; default: bare file names. */
  dir?: string;
  /** How messages name a file (the source's where); default: `dir/name`. */
  where?: (name: string) => string;
}

/** Reads the JSON files of a checkpoint: a folder path (Node) or any model source. */
export async function loadConfig(from: string | ModelSource, packerEmbedDimFromCheckpoint?: number): Promise<LlavaStConfig> {
  if (typeof from === 'string') {
    const { DirSource } = await import('../core/dir_source.js');
    const source = new DirSource(from);
    try {
      return { ...await loadConfig(source, packerEmbedDimFromCheckpoint), dir: from };
    } finally {
      await source.close();
    }
  }
  const config = await readJson(from, 'config.json', false);
  return parseConfig({
    config: config!, dir: from.label, where: (n) => from.where(n), packerEmbedDimFromCheckpoint,
    visionConfig: await readJson(from, 'vision_tower_config.json', true),
    generationConfig: await readJson(from, 'generation_config.json', true),
    specialTokens: await readJson(from, 'special_tokens.json', true),
  });
}

export function parseConfig(src: ConfigSources): LlavaStConfig {
  const dir = src.dir ?? '.';
  const fileName = (name: string): string =>
    src.where?.(name) ?? (src.dir === undefined ? name : `${src.dir.replace(/[/\\]+$/, '')}/${name}`);
  const c = new Keys(fileName('config.json'), src.config);
  c.oneOf('model_type', ['llava_qwen']);
  c.oneOf('hidden_act', ['silu']);
  c.oneOf('mm_projector_type', ['mlp2x_gelu']);
  c.oneOf('mm_resampler_type', ['fast_slow_resampler']);
  c.oneOf('mm_patch_merge_type', ['flat']);
  c.oneOf('use_downsample_image', [false]);
  c.oneOf('use_sliding_window', [false]);
  c.oneOf('tie_word_embeddings', [false]);
  c.oneOf('rope_scaling', [null]);

  const D = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  const kvHeads = c.int('num_key_value_heads', heads);
  if (D % heads !== 0) throw new ConfigError(c.file, `"hidden_size" ${D} is not a multiple of "num_attention_heads" ${heads}`);
  if (heads % kvHeads !== 0) throw new ConfigError(c.file, `"num_attention_heads" ${heads} is not a multiple of "num_key_value_heads" ${kvHeads}`);
  const text: TextConfig = {
    hidden_size: D, num_hidden_layers: c.int('num_hidden_layers'), num_attention_heads: heads, num_key_value_heads: kvHeads,
    intermediate_size: c.int('intermediate_size'), rms_norm_eps: c.num('rms_norm_eps', 1e-6), rope_theta: c.num('rope_theta', 1e6),
    vocab_size: c.int('vocab_size'), max_position_embeddings: c.int('max_position_embeddings', 32768), head_dim: D / heads,
    rope_table_dtype: src.config.torch_dtype === 'bfloat16' ? 'bf16' : src.config.torch_dtype === 'float16' ? 'f16' : 'f32',
  };
  if (text.head_dim % 2 !== 0) throw new ConfigError(c.file, `head_dim ${text.head_dim} (hidden_size / num_attention_heads) must be even for RoPE`);

  const vfile = fileName('vision_tower_config.json');
  const v = new Keys(src.visionConfig ? vfile : `${vfile} (absent: SigLIP so400m defaults)`, src.visionConfig ?? { ...SO400M });
  v.oneOf('hidden_act', ['gelu_pytorch_tanh']);
  const vHidden = v.int('hidden_size');
  const vHeads = v.int('num_attention_heads');
  if (vHidden % vHeads !== 0) throw new ConfigError(v.file, `"hidden_size" ${vHidden} is not a multiple of "num_attention_heads" ${vHeads}`);
  const patch = v.int('patch_size');
  const grid = Math.floor(v.int('image_size') / patch);
  const vision: VisionConfig = {
    hidden_size: vHidden, intermediate_size: v.int('intermediate_size'), num_attention_heads: vHeads, patch_size: patch,
    image_size: v.int('image_size'), num_channels: v.int('num_channels', 3), layer_norm_eps: v.num('layer_norm_eps', 1e-6),
    // The released code deletes the last encoder layer (§2).
    layers: v.int('num_hidden_layers_in_checkpoint', v.int('num_hidden_layers') - 1), grid,
  };
  if (c.int('mm_hidden_size') !== vision.hidden_size) {
    throw new ConfigError(c.file, `"mm_hidden_size" ${String(src.config.mm_hidden_size)} differs from the vision tower's hidden_size ${vision.hidden_size} (${v.file})`);
  }

  const latents = c.int('mm_perceiver_latents', 81);
  const side = Math.round(Math.sqrt(latents));
  if (side * side !== latents || grid % side !== 0) {
    throw new ConfigError(c.file, `"mm_perceiver_latents" ${latents} must be a square whose side divides the ${grid}×${grid} patch grid`);
  }
  const frames = c.int('max_frame', 100);
  if (frames % TEMPORAL_LATENTS !== 0) throw new ConfigError(c.file, `"max_frame" ${frames} must be a multiple of the packer's ${TEMPORAL_LATENTS} temporal latents`);
  const embed = src.visionConfig?.packer_embed_dim !== undefined ? v.int('packer_embed_dim') : (src.packerEmbedDimFromCheckpoint ?? DEFAULT_PACKER_EMBED_DIM);
  const packerHeads = src.visionConfig?.packer_num_heads !== undefined ? v.int('packer_num_heads') : DEFAULT_PACKER_HEADS;
  if (embed % packerHeads !== 0) throw new ConfigError(v.file, `packer width ${embed} is not a multiple of "packer_num_heads" ${packerHeads}`);
  const packer: PackerConfig = {
    embed_dim: embed, num_heads: packerHeads, latents, side, spatialFactor: grid / side,
    frames, temporalLatents: TEMPORAL_LATENTS, temporalFactor: frames / TEMPORAL_LATENTS, ln_eps: 1e-5,
  };

  const temporalBins = c.int('num_temporal_tokens', 100);
  const spatialBins = c.int('num_spatial_tokens', 100);

  const g = new Keys(fileName('generation_config.json'), src.generationConfig ?? {});
  const eos = g.ids('eos_token_id') ?? c.ids('eos_token_id');
  const generation: GenerationConfig = { eos_token_id: eos ?? [] };
  for (const k of ['temperature', 'top_p', 'repetition_penalty'] as const) {
    const x = g.optNum(k);
    if (x !== undefined) generation[k] = x;
  }
  if (src.generationConfig?.top_k !== undefined && src.generationConfig.top_k !== null) generation.top_k = g.int('top_k');
  if (typeof src.generationConfig?.do_sample === 'boolean') generation.do_sample = src.generationConfig.do_sample;

  const tokens = specialTokens(text.vocab_size, src.specialTokens, fileName('special_tokens.json'));
  if (generation.eos_token_id.length === 0) generation.eos_token_id = [tokens['<|im_end|>']];
  return {
    dir, text, vision, packer, temporalBins, spatialBins, imageTokens: grid * grid,
    videoTokens: TEMPORAL_LATENTS * latents, generation, tokens,
    logitsWidth: text.vocab_size + temporalBins + 2 * spatialBins,
  };
}

/** From special_tokens.json when present; else the real layout: the 17 specials end at vocab_size (§5.1). */
function specialTokens(V: number, json: Json | undefined, file: string): Record<SpecialTokenName, number> {
  const out = {} as Record<SpecialTokenName, number>;
  SPECIAL_TOKEN_NAMES.forEach((name, i) => {
    if (json === undefined) { out[name] = V - SPECIAL_TOKEN_NAMES.length + i; return; }
    const id = json[name];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= V) {
      throw new ConfigError(file, `"${name}" must be a token id below vocab_size ${V}, got ${JSON.stringify(id)}`);
    }
    out[name] = id;
  });
  return out;
}
