// `llava-st info [--ceilings] [--json]`: the adapter, its limits and features; with --ceilings,
// the measured ceilings every benchmark is judged against.
import { parseArgs } from 'node:util';
import { requestGpu, OPTIONAL_FEATURES, type Backend } from '../core/device.js';
import { measureCeilings, formatCeilings, type Ceilings } from '../bench/ceilings.js';

const HELP = `usage: llava-st info [--ceilings] [--json] [--backend vulkan|null|...]
  --ceilings   measure f32/f16 FMA GFLOP/s, read/copy GB/s, dispatch and read-back latency
  --json       print one JSON object instead of text`;

export async function infoMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    ceilings: { type: 'boolean' }, json: { type: 'boolean' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { console.log(HELP); return 0; }
  const gpu = await requestGpu(values.backend ? { backend: values.backend as Backend } : {});
  try {
    const features = OPTIONAL_FEATURES.map((f) => `${f}: ${gpu.features.has(f) ? 'yes' : 'no'}`);
    let ceilings: Ceilings | undefined;
    if (values.ceilings) ceilings = await measureCeilings(gpu, values.json ? undefined : (s) => process.stderr.write(`measuring ${s}...\r`));
    if (values.json) {
      console.log(JSON.stringify({ adapter: gpu.adapter, limits: gpu.adapterLimits, features: [...gpu.features], ceilings }, null, 2));
      return 0;
    }
    const a = gpu.adapter;
    console.log(`adapter        ${a.description || a.device || '(no description)'}`);
    console.log(`vendor         ${a.vendor || '-'}   architecture ${a.architecture || '-'}   backend ${a.backend}`);
    console.log(`features       ${features.join(', ')}`);
    console.log('limits');
    for (const [k, v] of Object.entries(gpu.adapterLimits).sort()) console.log(`  ${k.padEnd(44)} ${v}`);
    if (ceilings) console.log(`ceilings (measured)${' '.repeat(20)}\n${formatCeilings(ceilings).replace(/^/gm, '  ')}`);
    return 0;
  } finally {
    gpu.destroy();
  }
}
