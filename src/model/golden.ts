// Golden fixture sets (../shared/fixtures/<set>/, see its README): a case is
//   <kind>_inputs.safetensors (pixel_values), <kind>_meta.json (input_ids, variables,
//   frame_subset, generated_ids), <kind>_golden.safetensors (stage tensors).
// This file is the one mapping from the reference's tensor names to our tap names, and runs a
// whole case: every golden tensor against its tap, teacher-forced step logits, greedy ids.
// Nothing about a set's sizes is assumed: shapes come from the files and the model's config.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { SafetensorsFile } from '../core/safetensors.js';
import { Taps } from '../nn/taps.js';
import type { LlavaSt, MediaKind, Prompt } from './llava_st.js';
import type { Variables } from './coordinate_vocab.js';

export interface GoldenTensor { name: string; shape: number[]; data: Float32Array | Float64Array }

export interface FixtureCase {
  kind: MediaKind;
  label: string;
  prompt: Prompt;
  frameSubset: number[];
  golden: Map<string, GoldenTensor>;
  goldenIds: number[];
}

export interface Tolerance { atol: number; rtol: number }
/** Fixture README "Suggested tolerances". */
export const TOLERANCES: Record<'f32' | 'f16', { stage: Tolerance; logits: Tolerance }> = {
  f32: { stage: { atol: 1e-4, rtol: 1e-4 }, logits: { atol: 1e-4, rtol: 1e-4 } },
  f16: { stage: { atol: 3e-2, rtol: 3e-2 }, logits: { atol: 5e-2, rtol: 0 } },
};

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

async function readSafetensors(path: string): Promise<Map<string, GoldenTensor>> {
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, GoldenTensor>();
    for (const [name, e] of f.entries) {
      const bytes = await f.readAll(name, 1 << 30);
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      let data: Float32Array | Float64Array;
      switch (e.dtype) {
        case 'F32': data = new Float32Array(buf); break;
        case 'F64': data = new Float64Array(buf); break;
        case 'I64': data = Float64Array.from(new BigInt64Array(buf), Number); break;
        case 'I32': data = Float64Array.from(new Int32Array(buf)); break;
        case 'U8': data = Float32Array.from(new Uint8Array(buf)); break;
        default: throw new InputError(`${path} [${name}]: dtype ${e.dtype} is not used by fixtures`);
      }
      out.set(name, { name, shape: e.shape, data });
    }
    return out;
  } finally {
    await f.close();
  }
}

/**
 * Loads one case. `goldenFile` overrides `<kind>_golden.safetensors` (e.g. the BF16-weights
 * golden, which has its own generated_ids).
 */
export async function loadFixtureCase(dir: string, kind: MediaKind, goldenFile?: string): Promise<FixtureCase> {
  const metaPath = join(dir, `${kind}_meta.json`);
  let meta: { input_ids: number[]; variables?: Partial<Variables>; frame_subset?: number[]; generated_ids?: number[] };
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as typeof meta;
  } catch (e) {
    throw new InputError(`cannot read ${metaPath}: ${(e as Error).message}`);
  }
  const inputs = await readSafetensors(join(dir, `${kind}_inputs.safetensors`));
  const px = inputs.get('pixel_values');
  if (!px) throw new InputError(`${join(dir, `${kind}_inputs.safetensors`)} has no pixel_values`);
  const gfile = goldenFile ?? `${kind}_golden.safetensors`;
  const golden = await readSafetensors(join(dir, gfile));
  const ids = golden.get('generated_ids');
  return {
    kind, label: gfile.replace(/\.safetensors$/, ''),
    prompt: {
      ids: meta.input_ids, ...(meta.variables ? { variables: meta.variables } : {}),
      media: { kind, pixels: px.data instanceof Float32Array ? px.data : Float32Array.from(px.data), shape: px.shape },
    },
    frameSubset: meta.frame_subset ?? [0],
    golden,
    goldenIds: ids ? Array.from(ids.data) : (meta.generated_ids ?? []),
  };
}

/** The fixture cases present in a directory, with the BF16-weights image golden for BF16 checkpoints. */
export async function fixtureCases(dir: string, bf16Weights: boolean): Promise<{ kind: MediaKind; golden?: string }[]> {
  if (bf16Weights && await exists(join(dir, 'image_bf16weights_golden.safetensors'))) {
    return [{ kind: 'image', golden: 'image_bf16weights_golden.safetensors' }];
  }
  const out: { kind: MediaKind }[] = [];
  for (const kind of ['image', 'video'] as const) if (await exists(join(dir, `${kind}_golden.safetensors`))) out.push({ kind });
  return out;
}

/** Reference tensor name -> where it comes from. `frames`: pick the case's frame_subset. */
type Source =
  | { tap: string; frames?: boolean; lastRows?: number }
  | { stack: (layers: number, visionLayers: number) => string[]; frames?: 'subset' | 'last'; lastRows?: number }
  | { skip: string }
  | { special: 'positions' | 'coordinate_embeddings' | 'ids' | 'step_logits' };

const visionStack = (_: number, v: number) => ['vision.embeddings', ...Array.from({ length: v }, (_x, i) => `vision.layers.${i}`)];
/** HF output_hidden_states: embeddings, each layer's output, the last replaced by the normed state. */
const decoderStack = (n: number) => ['inputs_embeds', ...Array.from({ length: n - 1 }, (_x, i) => `decoder.layers.${i}`), 'decoder.norm'];
const FAST = 'token_packer_fast: its output never reaches the LLM (architecture.md §7.4), so it is computed nowhere';

export const GOLDEN_SOURCES: Record<string, Source> = {
  vision_hidden_states: { stack: visionStack, frames: 'subset' },
  vision_hidden_states_lastframe: { stack: visionStack, frames: 'last' },
  vision_features: { tap: 'vision', frames: true },
  projector_output: { tap: 'projector', frames: true },
  packer_input_after_lape: { tap: 'lape', frames: true },
  lape_temporal_injection: { tap: 'lape.temporal_table' },
  lape_height_injection: { tap: 'lape.height_table' },
  lape_width_injection: { tap: 'lape.width_table' },
  lape_height_resized: { tap: 'lape.height_resized' },
  lape_width_resized: { tap: 'lape.width_resized' },
  lape_temporal_used: { tap: 'lape.temporal_used' },
  token_packer_spatial_output: { tap: 'packer.spatial' },
  token_packer_slow_output: { tap: 'packer.slow' },
  packer_slow_final: { tap: 'packer.slow' }, // slow + 0·mean(fast): a no-op for finite values
  token_packer_fast_output: { skip: FAST },
  packer_fast_final: { skip: FAST },
  inputs_embeds: { tap: 'inputs_embeds' },
  coordinate_token_positions: { special: 'positions' },
  coordinate_token_embeddings: { special: 'coordinate_embeddings' },
  decoder_hidden_states: { stack: decoderStack },
  decoder_hidden_states_last64: { stack: decoderStack, lastRows: 64 },
  logits: { tap: 'logits' },
  logits_last64: { tap: 'logits', lastRows: 64 },
  generated_ids: { special: 'ids' },
  generation_step_logits: { special: 'step_logits' },
};

export interface CompareRow {
  name: string;
  shape: number[];
  maxAbs: number;
  /** max |got − want| / max |want|. */
  maxRel: number;
  pass: boolean;
  note?: string;
}

/** max errors and the pass test |a − b| <= atol + rtol·|b| element-wise. */
export function compare(name: string, shape: number[], got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): CompareRow {
  if (got.length !== want.length) return { name, shape, maxAbs: Infinity, maxRel: Infinity, pass: false, note: `got ${got.length} values, want ${want.length}` };
  let maxAbs = 0, refMax = 0, pass = true;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    const ok = d <= tol.atol + tol.rtol * Math.abs(want[i]!);
    if (!ok) pass = false;
    if (!(d <= maxAbs)) maxAbs = d; // NaN sticks
    refMax = Math.max(refMax, Math.abs(want[i]!));
  }
  return { name, shape, maxAbs, maxRel: refMax > 0 ? maxAbs / refMax : maxAbs, pass };
}

/** Rows [n] of a [N, ...rest] array with `rowSize` elements per row. */
function pickRows(a: Float32Array, rowSize: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => out.set(a.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return out;
}

export interface CaseResult { rows: CompareRow[]; ids: number[]; goldenIds: number[]; idsMatch: boolean }

/** Every tap name a case needs. */
function tapNames(model: LlavaSt): string[] {
  const names = new Set<string>();
  for (const s of Object.values(GOLDEN_SOURCES)) {
    if ('tap' in s) names.add(s.tap);
    if ('stack' in s) for (const n of s.stack(model.config.text.num_hidden_layers, model.config.vision.layers)) names.add(n);
  }
  return [...names];
}

/**
 * Runs a case: one tapped prompt forward + greedy generation, then a teacher-forced run for the
 * step logits; compares every golden tensor present.
 */
export async function runCase(model: LlavaSt, c: FixtureCase, dtype: 'f32' | 'f16' = 'f32'): Promise<CaseResult> {
  const tol = TOLERANCES[dtype];
  const taps = new Taps(tapNames(model));
  const steps = c.goldenIds.length;
  const rows: CompareRow[] = [];
  try {
    // The vision stages run once; both decodes start from the same inputs_embeds.
    const embeds = model.embedPrompt(c.prompt, taps);
    let greedy, forced;
    try {
      greedy = await model.generate(c.prompt, { maxNewTokens: steps, eos: [], taps, promptEmbeds: embeds });
      forced = await model.generate(c.prompt, { maxNewTokens: steps, eos: [], forcedIds: c.goldenIds, returnStepLogits: true, promptEmbeds: embeds });
    } finally {
      embeds.dispose();
    }
    const cache = new Map<string, Float32Array>();
    const read = async (n: string) => {
      let a = cache.get(n);
      if (!a) cache.set(n, (a = await taps.read(n)));
      return a;
    };
    const ids = c.prompt.ids;
    const V = model.config.text.vocab_size, tk = model.config.tokens;
    const placeholders = new Set([tk['<TEMP-INPUT>'], tk['<TEMP-OUTPUT>'], tk['<HEIGHT-INPUT>'], tk['<HEIGHT-OUTPUT>'], tk['<WIDTH-INPUT>'], tk['<WIDTH-OUTPUT>']]);
    for (const [name, g] of c.golden) {
      const src = GOLDEN_SOURCES[name];
      const isLogits = /logits/.test(name);
      const t = isLogits ? tol.logits : tol.stage;
      if (!src) { rows.push({ name, shape: g.shape, maxAbs: NaN, maxRel: NaN, pass: false, note: 'no tap maps to this reference tensor' }); continue; }
      if ('skip' in src) { rows.push({ name, shape: g.shape, maxAbs: 0, maxRel: 0, pass: true, note: `skipped: ${src.skip}` }); continue; }
      let got: ArrayLike<number>;
      if ('special' in src) {
        if (src.special === 'ids') {
          const same = greedy.ids.length === g.data.length && greedy.ids.every((x, i) => x === g.data[i]);
          rows.push({ name, shape: g.shape, maxAbs: same ? 0 : NaN, maxRel: 0, pass: same || dtype !== 'f32', note: `got [${greedy.ids.join(', ')}]${same ? '' : ` want [${Array.from(g.data).join(', ')}]`}` });
          continue;
        }
        if (src.special === 'step_logits') got = concat(forced.stepLogits ?? []);
        else if (src.special === 'positions') got = ids.flatMap((id, i) => (placeholders.has(id) || id >= V ? [i] : []));
        else {
          const pos = c.golden.get('coordinate_token_positions');
          const D = model.config.text.hidden_size;
          got = pickRows(await read('inputs_embeds'), D, pos ? Array.from(pos.data) : []);
        }
      } else if ('tap' in src) {
        let a = await read(src.tap);
        if (src.frames) a = pickRows(a, g.data.length / g.shape[0]!, c.frameSubset);
        if (src.lastRows) {
          const size = g.data.length / src.lastRows;
          a = a.subarray(a.length - src.lastRows * size);
        }
        got = a;
      } else {
        const parts: Float32Array[] = [];
        for (const n of src.stack(model.config.text.num_hidden_layers, model.config.vision.layers)) {
          let a = await read(n);
          const per = g.data.length / g.shape[0]!;
          if (src.frames === 'subset' || src.frames === 'last') {
            const frameSize = per / (src.frames === 'last' ? 1 : c.frameSubset.length);
            const frames = a.length / frameSize;
            a = pickRows(a, frameSize, src.frames === 'last' ? [frames - 1] : c.frameSubset);
          }
          if (src.lastRows) a = a.subarray(a.length - per);
          parts.push(a);
        }
        got = concat(parts);
      }
      rows.push(compare(name, g.shape, got, g.data, t));
    }
    const idsMatch = greedy.ids.length === c.goldenIds.length && greedy.ids.every((x, i) => x === c.goldenIds[i]);
    return { rows, ids: greedy.ids, goldenIds: c.goldenIds, idsMatch };
  } finally {
    taps.dispose();
  }
}

function concat(parts: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
