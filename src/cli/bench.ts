// `llava-st bench ceilings|kernels|model|safetensors`: benchmarks. Speed is measured here, never
// asserted in tests.
import { parseArgs } from 'node:util';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { measureCeilings, formatCeilings } from '../bench/ceilings.js';
import { runCase, formatResults, type BenchResult } from '../bench/harness.js';
import type { BenchCase } from '../bench/case.js';
import { loadPolicy } from '../ops/tune.js';
import { parseGroup } from './plan.js';

const HELP = `usage: llava-st bench <suite> [options]
  ceilings                      the adapter's own FMA, bandwidth, dispatch and read-back ceilings
  kernels [--filter S[,S...]] [--no-runners-up]
                                every kernel on its benchmark shapes (checked, then timed), with the
                                variant the kernel policy picked and the other candidates' times
                                (--filter: the cases whose name contains any of the strings)
  model                         one real-size SigLIP layer and one Qwen2-7B decoder layer
  safetensors [--gigabytes N] [--chunk-mib M]
                                streaming load of a synthetic multi-GB file into a checksum and into
                                GPU tensors (GB/s, peak RSS)
  fullsize [--dir D] [--weights auto,q4] [--tokens N] [--image FILE] [--keep]
                                the 7B layout at full size: writes a random bf16 checkpoint (~16 GB,
                                default /tmp/llava-st-7b-random, deleted after unless --keep), then per
                                weight format loads it and answers (load GB/s, peak RSS, s/token)
  formats [--set DIR] [--model DIR] [--weights f32,f16,q8,q4] [--group 32,16] [--per-task N] [--dir D]
                                answer agreement with f32 and task metrics per weight format (q8/q4 at
                                each group size) on a fixed subset of an eval set (default: MODEL/eval,
                                3 items a task); one eval process per format, resumed from D (default
                                /tmp/llava-st-formats; clear it for another model or set)
options: --json FILE (write the results as JSON), --max-time S (benny seconds per case, default 1)`;

/** The kernel benchmark cases, those whose name contains any of the comma-separated strings of `filter`. */
export async function kernelCases(filter?: string): Promise<BenchCase[]> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'kernels');
  const cases: BenchCase[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    const mod = (await import(join(dir, f))) as { cases?: () => BenchCase[] };
    if (mod.cases) cases.push(...mod.cases());
  }
  const any = filter?.split(',').filter(Boolean) ?? [];
  return any.length ? cases.filter((c) => any.some((f) => c.name.includes(f))) : cases;
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    json: { type: 'string' }, filter: { type: 'string' }, 'max-time': { type: 'string' }, 'no-runners-up': { type: 'boolean' },
    gigabytes: { type: 'string' }, 'chunk-mib': { type: 'string' },
    dir: { type: 'string' }, weights: { type: 'string' }, tokens: { type: 'string' }, image: { type: 'string' }, keep: { type: 'boolean' }, set: { type: 'string' }, model: { type: 'string' }, group: { type: 'string' }, 'per-task': { type: 'string' }, child: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } });
  const suite = positionals[0];
  if (values.help || !suite) { console.log(HELP); return values.help ? 0 : 2; }
  const save = (obj: unknown) => { if (values.json) writeFileSync(values.json, JSON.stringify(obj, null, 2) + '\n'); };

  if (suite === 'fullsize') {
    const { benchFullsize, fullsizeChild } = await import('../bench/fullsize.js');
    const dir = values.dir ?? '/tmp/llava-st-7b-random';
    const tokens = Number(values.tokens ?? 8);
    if (!Number.isSafeInteger(tokens) || tokens < 1) throw new InputError(`--tokens ${values.tokens}: expected a positive integer`);
    const image = values.image ? { kind: 'image' as const, path: values.image } : undefined;
    if (values.child) { console.log(JSON.stringify(await fullsizeChild(dir, values.weights ?? 'auto', tokens, image))); return 0; }
    const rows = benchFullsize({ dir, formats: (values.weights ?? 'auto,q4').split(','), tokens, keep: !!values.keep, ...(values.image ? { image: values.image } : {}) });
    save(rows);
    return rows.length > 0 ? 0 : 1;
  }
  if (suite === 'formats') {
    const { benchFormatsEval } = await import('../bench/formats_eval.js');
    const perTask = Number(values['per-task'] ?? 3);
    if (!Number.isSafeInteger(perTask) || perTask < 1) throw new InputError(`--per-task ${values['per-task']}: expected a positive integer`);
    const model = values.model ?? (await import('./run.js')).DEFAULT_MODEL;
    save(benchFormatsEval({ set: values.set ?? join(model, 'eval'), model, formats: (values.weights ?? 'f32,f16,q8,q4').split(','),
      groups: (values.group ?? '32,16').split(',').map(parseGroup), perTask, dir: values.dir ?? '/tmp/llava-st-formats' }));
    return 0;
  }
  if (suite === 'safetensors') {
    const { benchSafetensorsLoad } = await import('../bench/safetensors_load.js');
    const opts = { gigabytes: Number(values.gigabytes ?? 2), chunkMiB: Number(values['chunk-mib'] ?? 8) };
    const results = [await benchSafetensorsLoad(opts), await benchSafetensorsLoad({ ...opts, via: 'http' })];
    const gpu = await requestGpu();
    try {
      results.push(await benchSafetensorsLoad({ ...opts, gpu }), await benchSafetensorsLoad({ ...opts, gpu, via: 'http' }));
    } finally {
      gpu.destroy();
    }
    for (const r of results) {
      console.log(`${`${r.via} -> ${r.sink === 'gpu' ? 'GPU tensors' : 'checksum'}`.padEnd(20)} ${r.gbPerS.toFixed(2)} GB/s, ` +
        `RSS ${r.baselineRssMiB.toFixed(0)} MiB before, ${r.peakRssMiB.toFixed(0)} MiB at peak (chunk ${opts.chunkMiB} MiB)`);
    }
    save(results);
    return 0;
  }
  const gpu = await requestGpu();
  try {
    console.error(`adapter: ${gpu.adapter.description || gpu.adapter.device}`);
    // The policy's measured choices, as `run` would use them (tuned first if this adapter has none).
    if (suite !== 'ceilings') await loadPolicy(gpu, { log: (s) => console.error(`kernels: ${s}`) });
    const ceilings = await measureCeilings(gpu, (s) => process.stderr.write(`ceilings: ${s}...\r`));
    console.log(`ceilings of this adapter:\n${formatCeilings(ceilings).replace(/^/gm, '  ')}\n`);
    if (suite === 'ceilings') { save({ adapter: gpu.adapter, ceilings }); return 0; }
    if (suite === 'kernels') {
      const cases = await kernelCases(values.filter);
      const results: BenchResult[] = [];
      // The JSON after each case: a run stopped by a time limit keeps what it measured.
      const progress = () => save({ adapter: gpu.adapter, ceilings, results, cases: { done: results.length, of: cases.length } });
      progress();
      for (const c of cases) {
        process.stderr.write(`${c.name} ${c.shape}...\n`);
        const r = await runCase(gpu, c, ceilings, { maxTime: Number(values['max-time'] ?? 1), runnersUp: !values['no-runners-up'] });
        // Each row as it is measured: a long suite on a slow adapter shows its figures before it ends.
        process.stderr.write(`${formatResults([r]).split('\n')[2]}\n`);
        results.push(r);
        progress();
      }
      console.log(formatResults(results));
      return results.every((r) => r.status === 'ok') ? 0 : 1;
    }
    if (suite === 'model') {
      const { benchModel } = await import('../bench/model.js');
      const r = await benchModel(gpu, ceilings);
      save({ adapter: gpu.adapter, ceilings, model: r });
      return 0;
    }
    throw new InputError(`unknown benchmark suite "${suite}" (ceilings, kernels, model, safetensors)`);
  } finally {
    gpu.destroy();
  }
}
