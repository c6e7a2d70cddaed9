// `llava-st tune`: measures this adapter's kernel variants ahead of time (ops/tune.ts) and caches the
// winners per adapter + driver + library version, where `run`, `demo`, `eval` and `bench` find them.
// With --model, on the sizes that model's question dispatches (model/workload.ts), cached for that
// model. Without it the first `run` tunes (bounded, printed). Prints the table: per op and shape
// class the winner, what it was timed on (the class's fixed trial, or the model's sizes and their
// calls), its time and the runners-up.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { requestGpu } from '../core/device.js';
import { InputError } from '../core/errors.js';
import { readCheckpointFacts } from '../model/plan.js';
import { loadPolicy, formatMeasured, TOP_SHAPES } from '../ops/tune.js';
import { tuningWorkload } from '../model/workload.js';
import { OP_NAMES, SHAPE_CLASSES, adapterClass, policyFor, type OpName } from '../ops/policy.js';

const HELP = `usage: llava-st tune [--model DIR] [--show] [--ops gemm,attention,...] [--budget SECONDS] [--json FILE]
  measures every kernel variant of the policy (checked against the reference first) and caches the
  fastest per op and shape class for this adapter, driver and library version
  --model DIR  time each class on the sizes this checkpoint's video question dispatches (its costliest
               ${TOP_SHAPES}, weighted by calls) and cache the table for this model (run/demo/eval use it)
  --show       print the cached (or default) choices without measuring
  --ops        only these ops (${OP_NAMES.join(', ')})
  --budget S   stop starting new shape classes after S seconds (default 120)
  --json FILE  write the table as JSON
environment: LLAVA_ST_CACHE_DIR (default $XDG_CACHE_HOME/llava-st or ~/.cache/llava-st), LLAVA_ST_KERNEL`;

export async function tuneMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, show: { type: 'boolean' }, ops: { type: 'string' }, budget: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  const ops = values.ops?.split(',').map((s) => s.trim()) as OpName[] | undefined;
  const unknown = ops?.find((o) => !OP_NAMES.includes(o));
  if (unknown) throw new InputError(`--ops: unknown op "${unknown}" (${OP_NAMES.join(', ')})`);
  const budget = values.budget !== undefined ? Number(values.budget) : 120;
  if (!(budget > 0)) throw new InputError(`--budget ${values.budget}: expected a positive number of seconds`);
  // config.json and the safetensors headers, checked against each other before the device starts.
  const model = values.model !== undefined ? (await readCheckpointFacts(values.model)).config : undefined;
  const gpu = await requestGpu();
  try {
    console.log(`adapter  ${gpu.adapter.description || gpu.adapter.device} (${adapterClass(gpu)})`);
    const workload = model ? tuningWorkload(model, gpu.limits.maxStorageBufferBindingSize) : undefined;
    const policy = await loadPolicy(gpu, {
      mode: values.show ? 'read' : 'force', budgetMs: budget * 1000, ...(ops ? { ops } : {}), ...(workload ? { workload } : {}),
      log: (s) => console.log(`  ${s}`),
    });
    console.log(`\nchoices (op:class  variant  why)${policy.tuned?.workload ? `, tuned for ${policy.tuned.workload}` : ''}:`);
    for (const op of OP_NAMES) {
      for (const cls of SHAPE_CLASSES[op]) {
        const { candidate, source } = policy.choose(op, cls);
        const m = policy.tuned?.winners[`${op}:${cls}`];
        console.log(source === 'measured' && m ? `  ${formatMeasured(`${op}:${cls}`, m)}` : `  ${`${op}:${cls}`.padEnd(26)} ${candidate.name} (${source})`);
      }
    }
    console.log(`  dtype auto = ${policy.dtype}${policy.tuned ? ` (fma f32 ${policy.tuned.fma.f32.toFixed(1)}, f16 ${policy.tuned.fma.f16?.toFixed(1) ?? 'n/a'} GFLOP/s)` : ' (default)'}`);
    if (values.json) writeFileSync(values.json, JSON.stringify(policyFor(gpu).tuned ?? null, null, 1) + '\n');
    return 0;
  } finally {
    gpu.destroy();
  }
}
