// `llava-st quantize`: writes a quantized copy of a checkpoint (q8 or q4 weights, layout in
// nn/quantized_checkpoint.ts) that loads without quantizing again. Written into OUT.partial and
// renamed when complete, so an interrupted run never leaves a checkpoint that looks whole.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { readCheckpointFacts } from '../model/plan.js';
import { writeQuantizedCheckpoint } from '../nn/quantized_checkpoint.js';
import { parseGroup, parseWeights } from './plan.js';
import { Progress } from './progress.js';

const HELP = `usage: llava-st quantize --model DIR --weights q8|q4 [--group 16|32|64|128] [--dtype f32|f16] --out DIR
  Quantizes the Linear weights of a bf16/f16/f32 checkpoint on the GPU, one tensor at a time, and
  writes OUT/model.safetensors with the config and tokenizer files; \`run --model OUT\` then loads the
  codes as they are. --dtype is the compute dtype the other tensors are stored in (default f32).`;

export async function quantizeMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, weights: { type: 'string' }, group: { type: 'string' }, dtype: { type: 'string' }, out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  if (!values.model || !values.out) throw new InputError('--model DIR and --out DIR are required');
  const format = parseWeights(values.weights);
  if (format !== 'q8' && format !== 'q4') throw new InputError(`--weights ${values.weights}: expected q8 or q4`);
  const group = parseGroup(values.group);
  const compute = values.dtype ?? 'f32';
  if (compute !== 'f32' && compute !== 'f16') throw new InputError(`--dtype ${compute}: expected f32 or f16`);
  if (existsSync(values.out) && readdirSync(values.out).length > 0) throw new InputError(`--out ${values.out}: exists and is not empty`);
  await readCheckpointFacts(values.model);                                 // typed errors before any work
  const partial = `${values.out}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const gpu = await requestGpu();
  const bar = new Progress('quantizing');
  try {
    const r = await writeQuantizedCheckpoint(gpu, values.model, partial, { format, group, compute }, (d, t) => bar.update(d, t));
    bar.done();
    rmSync(values.out, { recursive: true, force: true });
    renameSync(partial, values.out);
    console.log(`${values.out}/model.safetensors: ${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB (${format}, groups of ${group})`);
    return 0;
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  } finally {
    gpu.destroy();
  }
}
