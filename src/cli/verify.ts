// `llava-st verify --model CHECKPOINT_DIR --fixtures FIXTURE_DIR [--dtype f32|f16]`: runs the image
// and video cases of a golden fixture set through the model, compares every reference tensor with
// the matching tap (model/golden.ts holds the name mapping), teacher-forces the step logits and
// checks the greedy ids. One line per tensor; exit 0 only if everything passes.
// A BF16 checkpoint is checked against image_bf16weights_golden when the set has one.
import { parseArgs } from 'node:util';
import { requestGpu } from '../core/device.js';
import { Checkpoint } from '../core/checkpoint.js';
import { InputError, LlavaStError } from '../core/errors.js';
import { LlavaSt } from '../model/llava_st.js';
import { parseGroup, parseWeights } from './plan.js';
import { TOLERANCES, fixtureCases, loadFixtureCase, runCase, type CompareRow } from '../model/golden.js';

const USAGE = 'usage: llava-st verify --model CHECKPOINT_DIR --fixtures FIXTURE_DIR [--dtype f32|f16] [--weights f32|f16|q8|q4] [--group G]';

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

function line(r: CompareRow): string {
  const shape = `[${r.shape.join(', ')}]`;
  const status = r.note?.startsWith('skipped') ? 'skip' : r.pass ? 'pass' : 'FAIL';
  return `  ${status.padEnd(4)}  ${r.name.padEnd(34)} ${shape.padEnd(18)} max_abs ${fmt(r.maxAbs).padEnd(9)} max_rel ${fmt(r.maxRel).padEnd(9)}${r.note ? `  ${r.note}` : ''}`;
}

export async function verifyMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: { model: { type: 'string' }, fixtures: { type: 'string' }, dtype: { type: 'string', default: 'f32' }, weights: { type: 'string' }, group: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  if (!values.model || !values.fixtures) { console.error(USAGE); return 2; }
  const dtype = values.dtype;
  if (dtype !== 'f32' && dtype !== 'f16') { console.error(`error: --dtype must be f32 or f16, got ${dtype}\n${USAGE}`); return 2; }
  // Weights stored otherwise than the compute dtype are measured against the same tolerances: rows
  // that fail then show the error that storage format costs (the README's accuracy table).
  const weights = parseWeights(values.weights ?? dtype);
  if (weights === 'auto') throw new InputError('verify --weights: name a format (f32, f16, q8, q4)');
  const group = parseGroup(values.group);

  const gpu = await requestGpu();
  try {
    const ck = await Checkpoint.open(values.model);
    const bf16 = [...ck.entries.values()].some((e) => e.dtype === 'BF16');
    await ck.close();
    const cases = await fixtureCases(values.fixtures, bf16);
    if (cases.length === 0) throw new InputError(`${values.fixtures} holds no <kind>_golden.safetensors`);
    const t0 = Date.now();
    const model = await LlavaSt.load(gpu, values.model, { dtype, weights: { format: weights, group } });
    console.log(`model ${values.model} (${bf16 ? 'BF16' : 'F32/F16'} checkpoint, ${weights} weights${weights.startsWith('q') ? ` (groups of ${group})` : ''}, ${dtype} compute, ${(model.weights.bytes / 2 ** 20).toFixed(1)} MiB) loaded in ${Date.now() - t0} ms`);
    const tol = TOLERANCES[dtype];
    console.log(`tolerance: |a-b| <= ${tol.stage.atol} + ${tol.stage.rtol}·|b| (stages), ${tol.logits.atol} + ${tol.logits.rtol}·|b| (logits)`);
    let ok = true;
    try {
      for (const c of cases) {
        const fc = await loadFixtureCase(values.fixtures, c.kind, c.golden);
        const t1 = Date.now();
        const r = await runCase(model, fc, dtype);
        console.log(`${fc.label} (${fc.prompt.ids.length} prompt tokens, ${Date.now() - t1} ms)`);
        for (const row of r.rows) {
          console.log(line(row));
          if (!row.pass) ok = false;
        }
        const idsLine = `ids ${r.idsMatch ? 'match' : 'DIFFER'}: got [${r.ids.join(', ')}] golden [${r.goldenIds.join(', ')}]`;
        console.log(`  ${idsLine}${!r.idsMatch && dtype === 'f16' ? ' (not required in f16: compare the teacher-forced step logits)' : ''}`);
        if (!r.idsMatch && dtype === 'f32') ok = false;
      }
      const unused = model.weights.unused();
      if (unused.length) console.log(`checkpoint tensors nobody read: ${unused.join(', ')}`);
    } finally {
      model.dispose();
    }
    console.log(ok ? 'verify: all passed' : 'verify: FAILED');
    return ok ? 0 : 1;
  } catch (e) {
    if (e instanceof LlavaStError) { console.error(`error: ${e.message}`); return 1; }
    throw e;
  } finally {
    gpu.destroy();
  }
}
