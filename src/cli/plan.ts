// `llava-st plan`: will this checkpoint fit this adapter, and with which flags? Reads config.json
// and the safetensors headers only (no weight bytes); the rule is model/plan.ts's. `run` resolves
// its --weights through the same functions (resolveLayout), so what plan says is what run does.
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { Gpu } from '../core/device.js';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { adapterClass } from '../ops/policy.js';
import { DEFAULT_GROUP_SIZE, GROUP_SIZES } from '../core/quant.js';
import { adapterFacts, chooseLayout, gib, makePlan, readCheckpointFacts, MEMORY_SHARE, RUNTIME_BYTES, type AdapterFacts, type Plan } from '../model/plan.js';
import { WEIGHT_FORMATS, type ComputeDType, type WeightFormat, type WeightLayout } from '../nn/weight_format.js';

const HELP = `usage: llava-st plan --model DIR [--dtype f32|f16] [--weights auto|f32|f16|q8|q4] [--group 16|32|64|128]
                     [--frames N] [--max-new-tokens N] [--memory GB] [--json]
  Reads config.json and the safetensors headers (no weights) and prints the bytes of each stage's
  weights in each storage format, the peak activations of an image and a video question, the
  adapter's limits, and which --weights fit (and what run --weights auto would pick).
  --dtype D        compute dtype (default f32)
  --frames N       frames of the video question (default: the model's max_frame, 100)
  --memory GB      memory behind the adapter (default: the machine's RAM on a CPU adapter;
                   unknown for a discrete GPU)`;

/** The plan's adapter facts in Node: --memory, else a software adapter's memory is the machine's RAM. */
export function nodeAdapterFacts(gpu: Gpu, memoryGB?: number): AdapterFacts {
  if (memoryGB !== undefined) return adapterFacts(gpu, { bytes: Math.floor(memoryGB * 2 ** 30), source: '--memory' });
  return adapterFacts(gpu, adapterClass(gpu) === 'software' ? { bytes: totalmem(), source: 'the machine\'s RAM (CPU adapter)' } : undefined);
}

export function parseWeights(s: string | undefined): WeightFormat | 'auto' {
  const v = s ?? 'auto';
  if (v !== 'auto' && !(WEIGHT_FORMATS as readonly string[]).includes(v)) throw new InputError(`--weights ${v}: expected auto, ${WEIGHT_FORMATS.join(', ')}`);
  return v as WeightFormat | 'auto';
}

export function parseGroup(s: string | undefined): number {
  const g = s === undefined ? DEFAULT_GROUP_SIZE : Number(s);
  if (!(GROUP_SIZES as readonly number[]).includes(g)) throw new InputError(`--group ${s}: expected one of ${GROUP_SIZES.join(', ')}`);
  return g;
}

export function parseMemory(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v) || v <= 0) throw new InputError(`--memory ${s}: expected a positive number of GiB`);
  return v;
}

/** The plan of `dir` on `gpu`, and the layout `want` resolves to: what run loads. Throws before any weight is read. */
export async function resolveLayout(gpu: Gpu, dir: string, o: { compute: ComputeDType; want: WeightFormat | 'auto'; group: number; memoryGB?: number; maxNewTokens?: number }): Promise<{ plan: Plan; layout: WeightLayout }> {
  const facts = await readCheckpointFacts(dir);
  const plan = makePlan(facts, nodeAdapterFacts(gpu, o.memoryGB), { compute: o.compute, group: o.group, ...(o.maxNewTokens ? { maxNewTokens: o.maxNewTokens } : {}) });
  return { plan, layout: chooseLayout(plan, o.want) };
}

export function formatPlan(plan: Plan, chosen: WeightLayout | string, want: WeightFormat | 'auto' = 'auto'): string {
  const L: string[] = [];
  const mib = (b: number) => b >= 2 ** 30 ? gib(b) : `${(b / 2 ** 20).toFixed(1)} MiB`;
  const pad = (s: string, n: number) => s.padStart(n);
  L.push(`checkpoint ${plan.dir}: compute ${plan.compute}, quantized groups of ${plan.group}`);
  L.push('');
  L.push(`weights by stage    ${'params'.padStart(14)}${WEIGHT_FORMATS.map((f) => pad(f, 12)).join('')}`);
  for (const r of plan.stages) if (r.params > 0) L.push(`  ${r.stage.padEnd(18)}${pad(r.params.toLocaleString('en'), 14)}${WEIGHT_FORMATS.map((f) => pad(mib(r.bytes[f]), 12)).join('')}`);
  const params = plan.stages.reduce((s, r) => s + r.params, 0);
  L.push(`  ${'total'.padEnd(18)}${pad(params.toLocaleString('en'), 14)}${plan.fits.map((f) => pad(mib(f.weights), 12)).join('')}`);
  L.push('  (f16/q8/q4 keep norms, biases and coordinate tables in the compute dtype and embed_tokens in f16)');
  L.push('');
  const a = plan.activations;
  L.push(`peak activations (${plan.compute}, KV cache for ${a.maxNewTokens} new tokens, pool rounding): image question ${mib(a.image)}; ` +
    `${a.videoFrames}-frame video question ${mib(a.video)} (vision in batches of ${a.videoFramesPerBatch} frames)`);
  const ad = plan.adapter;
  L.push(`adapter: maxBufferSize ${mib(ad.maxBufferSize)}, maxStorageBufferBindingSize ${mib(ad.maxStorageBufferBindingSize)} (larger weights are split by rows), ` +
    `shader-f16 ${ad.hasF16 ? 'yes' : 'no'}, memory ${ad.memoryBytes !== undefined ? mib(ad.memoryBytes) : '?'} from ${ad.memorySource}`);
  L.push(`budget: ${plan.budget !== undefined ? `${mib(plan.budget)} = ${ad.cpu ? MEMORY_SHARE.cpu : MEMORY_SHARE.gpu} of the memory` : 'unknown'}; ` +
    `needed = weights + the larger question's activations + ${mib(RUNTIME_BYTES)} runtime`);
  L.push('');
  for (const f of plan.fits) {
    const verdict = f.fits === true ? 'fits' : f.fits === 'unknown' ? 'unknown' : 'does not fit';
    const fb = f.fallbacks.length ? ` (${f.fallbacks.length} Linear weights stay f16: rows not a multiple of ${plan.group})` : '';
    L.push(`  --weights ${f.format.padEnd(4)} needs ${pad(mib(f.needed), 10)}  ${verdict}${f.why && f.fits !== true ? `: ${f.why}` : ''}${fb}`);
  }
  L.push('');
  L.push(typeof chosen === 'string' ? `run --weights ${want}: ${chosen}` : `run --weights ${want} loads ${chosen.format} weights (flags: --dtype ${chosen.compute} --weights ${chosen.format}${chosen.format.startsWith('q') ? ` --group ${chosen.group}` : ''})`);
  return L.join('\n');
}

export async function planMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, dtype: { type: 'string' }, weights: { type: 'string' }, group: { type: 'string' }, frames: { type: 'string' },
    'max-new-tokens': { type: 'string' }, memory: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  if (!values.model) throw new InputError('--model DIR is required');
  const compute = values.dtype ?? 'f32';
  if (compute !== 'f32' && compute !== 'f16') throw new InputError(`--dtype ${compute}: expected f32 or f16`);
  const want = parseWeights(values.weights);
  const group = parseGroup(values.group);
  const memoryGB = parseMemory(values.memory);
  const maxNew = values['max-new-tokens'] !== undefined ? Number(values['max-new-tokens']) : undefined;
  if (maxNew !== undefined && (!Number.isSafeInteger(maxNew) || maxNew < 1)) throw new InputError(`--max-new-tokens ${values['max-new-tokens']}: expected a positive integer`);
  const facts = await readCheckpointFacts(values.model);
  if (values.frames !== undefined) {
    const n = Number(values.frames);
    if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`--frames ${values.frames}: expected a positive integer`);
    if (n !== facts.config.packer.frames) throw new InputError(`--frames ${n}: this model always samples max_frame = ${facts.config.packer.frames} frames`);
  }
  const gpu = await requestGpu();
  try {
    const plan = makePlan(facts, nodeAdapterFacts(gpu, memoryGB), { compute, group, ...(maxNew ? { maxNewTokens: maxNew } : {}) });
    let chosen: WeightLayout | string;
    try { chosen = chooseLayout(plan, want); } catch (e) { chosen = (e as Error).message; }
    if (values.json) console.log(JSON.stringify({ ...plan, chosen }, null, 2));
    else console.log(formatPlan(plan, chosen, want));
    return typeof chosen === 'string' ? 1 : 0;
  } finally {
    gpu.destroy();
  }
}
