// Every tensor LLaVA-ST needs, by checkpoint name, with its shape (architecture.md §14), derived
// from an HF config.json plus the SigLIP tower's config. Used by `inspect` to audit a checkpoint
// before any weight is uploaded. Linear weights are [out, in].
//
// D = LLM hidden, Dv = SigLIP hidden, E = packer inner width, V = config.vocab_size.

import { ConfigError } from '../core/errors.js';

export type Shape = number[];

/** Stored in real checkpoints but never read by the forward pass (§2, §7.4). */
export const UNUSED_TENSOR_PATTERNS: readonly RegExp[] = [
  /^model\.vision_resampler\.token_packer_fast\./,
  /^model\.vision_tower\.vision_tower\.vision_model\.post_layernorm\./,
];

/** SigLIP so400m-patch14-384 (§2): used when no vision_tower_config.json is given. */
export const SO400M_VISION_CONFIG = {
  hidden_size: 1152, intermediate_size: 4304, num_hidden_layers: 27, patch_size: 14, image_size: 384, num_channels: 3,
} as const;

/** The packer's hard-coded inner width in the released code (§6). */
export const DEFAULT_PACKER_EMBED_DIM = 1024;

export interface ExpectedOptions {
  /** Packer width E when vision_tower_config.json has no packer_embed_dim (e.g. read from the checkpoint). */
  packerEmbedDim?: number;
  /** Labels errors. */
  configFile?: string;
  visionConfigFile?: string;
}

function int(cfg: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(file, `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function need(cfg: Record<string, unknown>, key: string, value: unknown, file: string): void {
  if (cfg[key] !== value) {
    throw new ConfigError(file, `"${key}" is ${JSON.stringify(cfg[key])}; only ${JSON.stringify(value)} is supported`);
  }
}

/** A Linear layer: weight [out, in] and, unless `bias` is false, bias [out]. */
function addLinear(m: Map<string, Shape>, prefix: string, out: number, inp: number, bias = true): void {
  m.set(`${prefix}.weight`, [out, inp]);
  if (bias) m.set(`${prefix}.bias`, [out]);
}

function addNorm(m: Map<string, Shape>, prefix: string, width: number, bias = true): void {
  m.set(`${prefix}.weight`, [width]);
  if (bias) m.set(`${prefix}.bias`, [width]);
}

/** Qwen2 decoder, embeddings and head (§14.1). */
function addLanguageModel(m: Map<string, Shape>, cfg: Record<string, unknown>, file: string): void {
  const D = int(cfg, 'hidden_size', file);
  const heads = int(cfg, 'num_attention_heads', file);
  const kvHeads = int(cfg, 'num_key_value_heads', file, heads);
  const ffn = int(cfg, 'intermediate_size', file);
  const V = int(cfg, 'vocab_size', file);
  if (D % heads !== 0 || heads % kvHeads !== 0) {
    throw new ConfigError(file, `hidden_size ${D}, num_attention_heads ${heads}, num_key_value_heads ${kvHeads} do not divide evenly`);
  }
  const kvWidth = (D / heads) * kvHeads;
  m.set('model.embed_tokens.weight', [V, D]);
  for (let i = 0; i < int(cfg, 'num_hidden_layers', file); i++) {
    const p = `model.layers.${i}`;
    addNorm(m, `${p}.input_layernorm`, D, false);
    addLinear(m, `${p}.self_attn.q_proj`, D, D);
    addLinear(m, `${p}.self_attn.k_proj`, kvWidth, D);
    addLinear(m, `${p}.self_attn.v_proj`, kvWidth, D);
    addLinear(m, `${p}.self_attn.o_proj`, D, D, false);
    addNorm(m, `${p}.post_attention_layernorm`, D, false);
    addLinear(m, `${p}.mlp.gate_proj`, ffn, D, false);
    addLinear(m, `${p}.mlp.up_proj`, ffn, D, false);
    addLinear(m, `${p}.mlp.down_proj`, D, ffn, false);
  }
  addNorm(m, 'model.norm', D, false);
  if (cfg.tie_word_embeddings !== true) m.set('lm_head.weight', [V, D]);
}

/** The six coordinate tables (§14.2): input ones are Embeddings, output ones Linear weights. */
function addCoordinateTables(m: Map<string, Shape>, cfg: Record<string, unknown>, file: string): void {
  const D = int(cfg, 'hidden_size', file);
  const rows = { temporal: int(cfg, 'num_temporal_tokens', file), spatial_height: int(cfg, 'num_spatial_tokens', file) };
  const tables = { ...rows, spatial_width: rows.spatial_height };
  for (const [kind, n] of Object.entries(tables)) {
    for (const side of ['input', 'output']) m.set(`model.${kind}_${side}_embeddings.weight`, [n, D]);
  }
}

/** mlp2x_gelu projector (§14.3). */
function addProjector(m: Map<string, Shape>, cfg: Record<string, unknown>, dv: number, file: string): void {
  need(cfg, 'mm_projector_type', 'mlp2x_gelu', file);
  const D = int(cfg, 'hidden_size', file);
  addLinear(m, 'model.mm_projector.0', D, dv);
  addLinear(m, 'model.mm_projector.2', D, D);
}

/** The ST-Packer's spatial and temporal modules (§14.4); token_packer_fast is unused. */
function addPacker(m: Map<string, Shape>, cfg: Record<string, unknown>, E: number, file: string): void {
  need(cfg, 'mm_resampler_type', 'fast_slow_resampler', file);
  const D = int(cfg, 'hidden_size', file);
  for (const module of ['token_packer', 'token_packer_slow']) {
    const p = `model.vision_resampler.${module}.devide_attention`;
    for (const x of ['q', 'k', 'v']) {
      addLinear(m, `${p}.to_${x}.0`, E, D);
      addLinear(m, `${p}.to_${x}.2`, E, E);
      addNorm(m, `${p}.ln_${x}`, E);
    }
    m.set(`${p}.attn.in_proj_weight`, [3 * E, E]);
    m.set(`${p}.attn.in_proj_bias`, [3 * E]);
    addLinear(m, `${p}.attn.out_proj`, E, E);
    addLinear(m, `${p}.to_out`, D, E, false);
  }
}

/** Truncated SigLIP tower (§14.5): the checkpoint holds num_hidden_layers - 1 layers. */
function addVisionTower(m: Map<string, Shape>, vc: Record<string, unknown>, file: string): number {
  const dv = int(vc, 'hidden_size', file);
  const mlp = int(vc, 'intermediate_size', file);
  const patch = int(vc, 'patch_size', file);
  const grid = Math.floor(int(vc, 'image_size', file) / patch);
  const layers = int(vc, 'num_hidden_layers_in_checkpoint', file, int(vc, 'num_hidden_layers', file) - 1);
  const p = 'model.vision_tower.vision_tower.vision_model';
  m.set(`${p}.embeddings.patch_embedding.weight`, [dv, int(vc, 'num_channels', file, 3), patch, patch]);
  m.set(`${p}.embeddings.patch_embedding.bias`, [dv]);
  m.set(`${p}.embeddings.position_embedding.weight`, [grid * grid, dv]);
  for (let i = 0; i < layers; i++) {
    const l = `${p}.encoder.layers.${i}`;
    addNorm(m, `${l}.layer_norm1`, dv);
    for (const x of ['q', 'k', 'v', 'out']) addLinear(m, `${l}.self_attn.${x}_proj`, dv, dv);
    addNorm(m, `${l}.layer_norm2`, dv);
    addLinear(m, `${l}.mlp.fc1`, mlp, dv);
    addLinear(m, `${l}.mlp.fc2`, dv, mlp);
  }
  return dv;
}

/**
 * name -> shape of every tensor the forward pass reads, from a parsed config.json and, when the
 * checkpoint ships one, vision_tower_config.json (else SigLIP so400m).
 */
export function expectedTensors(config: unknown, visionConfig?: unknown, opts: ExpectedOptions = {}): Map<string, Shape> {
  const file = opts.configFile ?? 'config.json';
  const vfile = opts.visionConfigFile ?? 'vision_tower_config.json';
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ConfigError(file, 'is not a JSON object');
  if (visionConfig !== undefined && (typeof visionConfig !== 'object' || visionConfig === null || Array.isArray(visionConfig))) {
    throw new ConfigError(vfile, 'is not a JSON object');
  }
  const cfg = config as Record<string, unknown>;
  const vc = (visionConfig ?? SO400M_VISION_CONFIG) as Record<string, unknown>;
  const E = int(vc, 'packer_embed_dim', vfile, opts.packerEmbedDim ?? DEFAULT_PACKER_EMBED_DIM);
  const m = new Map<string, Shape>();
  addLanguageModel(m, cfg, file);
  addCoordinateTables(m, cfg, file);
  const dv = addVisionTower(m, vc, vfile);
  if (int(cfg, 'mm_hidden_size', file) !== dv) {
    throw new ConfigError(file, `mm_hidden_size ${String(cfg.mm_hidden_size)} differs from the vision tower's hidden_size ${dv} (${visionConfig === undefined ? 'so400m default' : vfile})`);
  }
  addProjector(m, cfg, dv, file);
  addPacker(m, cfg, E, file);
  return m;
}

/** The packer width a checkpoint was built with, read off to_q.0 ([E, D]); undefined if absent. */
export function packerEmbedDimOf(shapes: ReadonlyMap<string, Shape>): number | undefined {
  return shapes.get('model.vision_resampler.token_packer.devide_attention.to_q.0.weight')?.[0];
}

export interface WeightCheck {
  missing: string[];
  /** Present but neither expected nor a known unused tensor. */
  unexpected: string[];
  /** Present, known, and not read by the model (token_packer_fast.*, post_layernorm.*). */
  unused: string[];
  mismatched: { name: string; expected: Shape; actual: Shape }[];
}

export function checkWeights(actual: ReadonlyMap<string, Shape>, expected: ReadonlyMap<string, Shape>): WeightCheck {
  const r: WeightCheck = { missing: [], unexpected: [], unused: [], mismatched: [] };
  for (const [name, shape] of expected) {
    const got = actual.get(name);
    if (got === undefined) r.missing.push(name);
    else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) r.mismatched.push({ name, expected: shape, actual: got });
  }
  for (const name of actual.keys()) {
    if (expected.has(name)) continue;
    (UNUSED_TENSOR_PATTERNS.some((p) => p.test(name)) ? r.unused : r.unexpected).push(name);
  }
  return r;
}
