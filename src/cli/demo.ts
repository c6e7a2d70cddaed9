// `llava-st demo`: the out-of-the-box run. Answers the sample questions shipped with the demo model
// (models/llava-st-synth/samples), prints each answer with its spans and boxes, checks the answer ids
// against the reference PyTorch model's, and draws every answer into a picture.
import { parseArgs } from 'node:util';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requestGpu } from '../core/device.js';
import { loadPolicy } from '../ops/tune.js';
import { warmUpKernels } from '../ops/warmup.js';
import { tuningWorkloadOf } from '../model/workload.js';
import { InputError } from '../core/errors.js';
import { Assistant } from '../tasks/assistant.js';
import type { AnswerTask } from '../tasks/coordinates.js';
import { DEFAULT_MODEL, formatAnswer } from './run.js';
import { Progress } from './progress.js';
import { writeViz } from './viz_output.js';

interface Sample {
  name: string;
  task: AnswerTask;
  media: string;
  modality: 'video' | 'image';
  question: string;
  reference_answer_ids?: number[];
}

const HELP = `usage: llava-st demo [--model DIR] [--all | --sample NAME] [--out-dir DIR] [--dtype f32|f16|auto]
  Answers the demo model's sample questions (default: one video STVG and one image REC sample;
  --all: every sample), compares the answer ids with the reference model's and writes pictures.
  --dtype: f32 (default), f16, or auto (the kernel policy's choice for this adapter, llava-st tune).`;

const DEFAULT_SAMPLES = ['demo2_stvg', 'image1_rec'];

export async function demoMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, all: { type: 'boolean' }, sample: { type: 'string', multiple: true },
    'out-dir': { type: 'string' }, dtype: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  const modelDir = values.model ?? DEFAULT_MODEL;
  const samplesDir = join(modelDir, 'samples');
  let samples: Sample[];
  try {
    samples = JSON.parse(readFileSync(join(samplesDir, 'samples.json'), 'utf8')) as Sample[];
  } catch (e) {
    throw new InputError(`${join(samplesDir, 'samples.json')}: cannot read the demo samples (${(e as Error).message})`);
  }
  const names = values.all ? samples.map((s) => s.name) : values.sample ?? DEFAULT_SAMPLES;
  const chosen = names.map((n) => {
    const s = samples.find((x) => x.name === n);
    if (!s) throw new InputError(`no sample named "${n}" (have ${samples.map((x) => x.name).join(', ')})`);
    return s;
  });
  const outDir = values['out-dir'] ?? 'demo-out';
  mkdirSync(outDir, { recursive: true });
  const dtypeArg = values.dtype ?? 'f32';
  if (dtypeArg !== 'f32' && dtypeArg !== 'f16' && dtypeArg !== 'auto') throw new InputError(`--dtype ${dtypeArg}: expected f32, f16 or auto`);

  const gpu = await requestGpu();
  const bar = new Progress('loading weights');
  try {
    // The kernel policy's cached measurements (tuned once on first use; LLAVA_ST_TUNE=off: defaults).
    const workload = await tuningWorkloadOf(modelDir, gpu.limits.maxStorageBufferBindingSize);
    const policy = await loadPolicy(gpu, { workload, log: (s) => console.error(`kernels: ${s}`) });
    const dtype = dtypeArg === 'auto' ? policy.dtype : dtypeArg;
    // Builds the kernels of this model's last questions while the weights load (ops/warmup.ts).
    const warm = await warmUpKernels(gpu, { workload, dtype, log: (s) => console.error(`kernels: ${s}`) });
    if (dtype === 'f16' && !gpu.hasF16) throw new InputError('--dtype f16: this adapter has no shader-f16');
    console.log(`model    ${modelDir} (${dtype})\nadapter  ${gpu.adapter.description || gpu.adapter.device}`);
    const assistant = await Assistant.load(gpu, modelDir, { dtype, onProgress: (_s, d, t) => bar.update(d, t) });
    bar.done();
    let mismatches = 0;
    try {
      for (const s of chosen) {
        const path = join(samplesDir, s.media);
        process.stdout.write(`\n== ${s.name}: ${s.task.toUpperCase()} on ${s.media}\nQ: ${s.question}\nA: `);
        const frames = new Progress('decoding frames');
        const r = await assistant.ask({
          question: s.question, media: { kind: s.modality, path }, task: s.task, maxNewTokens: 64,
          onText: (d) => process.stdout.write(d),
          onProgress: (st, d, t) => { if (st === 'frames') frames.update(d, t); },
        });
        frames.done();
        await warm.save();
        console.log(`\n${formatAnswer(r)}`);
        if (s.reference_answer_ids) {
          const same = JSON.stringify(r.ids) === JSON.stringify(s.reference_answer_ids);
          if (!same) mismatches++;
          console.log(`ref   ${same ? 'answer ids identical to the reference model\'s' : `DIFFERS from the reference ids ${JSON.stringify(s.reference_answer_ids)}; got ${JSON.stringify(r.ids)}`}`);
        }
        const pic = join(outDir, `${s.name}.${s.modality === 'video' ? 'gif' : 'png'}`);
        await writeViz(pic, r);
        console.log(`viz   ${pic}`);
      }
    } finally {
      assistant.dispose();
    }
    console.log(`\n${chosen.length - mismatches}/${chosen.length} answers match the reference model.`);
    console.log('Note: this small demo model learned the answer formats, not grounding: its answers do not depend on the pixels.');
    return mismatches === 0 ? 0 : 1;
  } finally {
    gpu.destroy();
  }
}
