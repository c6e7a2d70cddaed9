// `llava-st inspect PATH [--config DIR/config.json] [--json]`: lists a checkpoint's tensors, totals
// per dtype, and (with --config) audits them against what the model needs. Reads headers only.
// Exit codes: 0 fine, 1 unreadable or malformed input (one `error:` line on stderr),
// 2 a valid checkpoint that does not fit the config.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Checkpoint } from '../core/checkpoint.js';
import { ConfigError, InputError } from '../core/errors.js';
import { checkWeights, expectedTensors, packerEmbedDimOf, type Shape, type WeightCheck } from '../model/weight_names.js';

const USAGE = 'usage: llava-st inspect PATH [--config DIR/config.json] [--json]  (a directory is checked against its own config.json)';

/** Given the --config path and the checkpoint's shapes, the tensors the model needs. */
export type ExpectedFn = (configPath: string, actual: ReadonlyMap<string, Shape>) => Promise<Map<string, Shape>>;

export interface InspectIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Replaces the default config reader (expectedTensorsFromFiles). */
  expected?: ExpectedFn;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, `is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Default ExpectedFn: config.json plus vision_tower_config.json next to it when present. When that
 * file has no packer_embed_dim, E is taken from the checkpoint (the released code hard-codes 1024).
 */
export const expectedTensorsFromFiles: ExpectedFn = async (configPath, actual) => {
  const config = await readJson(configPath);
  const visionPath = join(dirname(configPath), 'vision_tower_config.json');
  let vision: unknown;
  try {
    vision = await readJson(visionPath);
  } catch (e) {
    if (!(e instanceof ConfigError && /ENOENT/.test(e.message))) throw e;
  }
  const packerEmbedDim = packerEmbedDimOf(actual);
  return expectedTensors(config, vision, {
    configFile: configPath, visionConfigFile: visionPath, ...(packerEmbedDim !== undefined ? { packerEmbedDim } : {}),
  });
};

interface Report {
  source: string;
  files: string[];
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; file: string }[];
  totals: Record<string, { count: number; bytes: number }>;
  check?: WeightCheck;
  verdict: string;
}

function verdictOf(r: Omit<Report, 'verdict'>): { ok: boolean; verdict: string } {
  const n = r.tensors.length;
  const bytes = r.tensors.reduce((s, t) => s + t.bytes, 0);
  const base = `${n} tensors, ${bytes} bytes in ${r.files.length} file(s)`;
  if (r.check === undefined) return { ok: true, verdict: `OK: ${base} (no --config: not checked against a model)` };
  const c = r.check;
  const bad = c.missing.length + c.unexpected.length + c.mismatched.length;
  const counts = `${c.missing.length} missing, ${c.unexpected.length} unexpected, ${c.mismatched.length} shape mismatches, ${c.unused.length} present but unused`;
  return { ok: bad === 0, verdict: `${bad === 0 ? 'OK' : 'MISMATCH'}: ${base}; ${counts}` };
}

function formatText(r: Report): string {
  const lines = r.tensors.map((t) => `${t.name}\t${t.dtype}\t[${t.shape.join(', ')}]\t${t.bytes}`);
  lines.push('', 'totals per dtype:');
  for (const [dtype, t] of Object.entries(r.totals)) lines.push(`  ${dtype}\t${t.count} tensors\t${t.bytes} bytes`);
  if (r.check !== undefined) {
    const c = r.check;
    for (const name of c.missing) lines.push(`missing: ${name}`);
    for (const name of c.unexpected) lines.push(`unexpected: ${name}`);
    for (const m of c.mismatched) lines.push(`shape mismatch: ${m.name}: expected [${m.expected.join(', ')}], found [${m.actual.join(', ')}]`);
    for (const name of c.unused) lines.push(`present, unused: ${name}`);
  }
  lines.push(r.verdict);
  return lines.join('\n') + '\n';
}

export async function inspectMain(argv: string[], io: InspectIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  let ckpt: Checkpoint | undefined;
  try {
    let args;
    try {
      args = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    } catch (e) {
      throw new InputError(`${(e as Error).message}; ${USAGE}`);
    }
    if (args.values.help) { out(`${USAGE}\n`); return 0; }
    if (args.positionals.length !== 1) throw new InputError(`expected exactly one PATH; ${USAGE}`);
    ckpt = await Checkpoint.open(args.positionals[0]!);
    const tensors = [...ckpt.entries.values()].map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: e.byteLength, file: e.file }));
    const totals: Report['totals'] = {};
    for (const t of tensors) {
      const s = (totals[t.dtype] ??= { count: 0, bytes: 0 });
      s.count++;
      s.bytes += t.bytes;
    }
    const partial: Omit<Report, 'verdict'> = { source: ckpt.source, files: ckpt.files.map((f) => f.path), tensors, totals };
    // A checkpoint directory with its config.json is checked against it without being asked.
    const path = args.positionals[0]!;
    const configPath = args.values.config ??
      (statSync(path).isDirectory() && existsSync(join(path, 'config.json')) ? join(path, 'config.json') : undefined);
    if (configPath !== undefined) {
      const actual = new Map(tensors.map((t) => [t.name, t.shape]));
      const expected = await (io.expected ?? expectedTensorsFromFiles)(configPath, actual);
      partial.check = checkWeights(actual, expected);
    }
    const { ok, verdict } = verdictOf(partial);
    const report: Report = { ...partial, verdict };
    out(args.values.json === true ? JSON.stringify(report, null, 2) + '\n' : formatText(report));
    return ok ? 0 : 2;
  } catch (e) {
    err(`error: ${(e as Error).message.split('\n')[0]}\n`);
    return 1;
  } finally {
    await ckpt?.close();
  }
}
