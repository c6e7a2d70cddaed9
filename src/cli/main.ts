#!/usr/bin/env node
// The `llava-st` command. Each subcommand lives in its own module, loaded on demand.
import { LlavaStError } from '../core/errors.js';
import '../wgsl/index.js';

type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Main> }> = {
  demo: { summary: 'answer the demo model\'s sample questions and draw the answers (no download)', load: async () => (await import('./demo.js')).demoMain },
  info: { summary: 'print the WebGPU adapter, its limits and features (--ceilings: measure its ceilings)', load: async () => (await import('./info.js')).infoMain },
  inspect: { summary: 'validate a safetensors file, index or checkpoint directory and list its tensors', load: async () => (await import('./inspect.js')).inspectMain },
  verify: { summary: 'compare every stage of a checkpoint against golden fixture tensors', load: async () => (await import('./verify.js')).verifyMain },
  plan: { summary: 'will a checkpoint fit this adapter? weight bytes per stage and format, activations, limits (headers only)', load: async () => (await import('./plan.js')).planMain },
  quantize: { summary: 'write a q8/q4 copy of a checkpoint that loads without quantizing again', load: async () => (await import('./quantize.js')).quantizeMain },
  run: { summary: 'answer a question about a video or an image, with spans and boxes', load: async () => (await import('./run.js')).runMain },
  serve: { summary: 'serve the page and a model on this machine: the whole model in a browser (WebGPU)', load: async () => (await import('./serve.js')).serveMain },
  eval: { summary: 'run a model over an evaluation set and score it', load: async () => (await import('./eval.js')).evalMain },
  score: { summary: 'recompute metrics from saved predictions (results.jsonl)', load: async () => (await import('./score.js')).scoreMain },
  tune: { summary: 'measure this adapter\'s kernel variants once and cache the fastest (the kernel policy)', load: async () => (await import('./tune.js')).tuneMain },
  bench: { summary: 'benchmarks: ceilings | kernels | model | safetensors', load: async () => (await import('./bench.js')).benchMain },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: llava-st <command> [options]   (llava-st <command> --help for its options)', '',
    ...Object.entries(COMMANDS).map(([c, { summary }]) => `  ${c.padEnd(width)}  ${summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    console.error(`error: unknown command "${cmd}"\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load())(rest);
  } catch (e) {
    if (e instanceof LlavaStError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    // Option-parsing errors from node:util parseArgs are the user's, not ours.
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${(e as Error).message.split('\n')[0]}`);
      return 2;
    }
    // Anything else is a bug of ours: one line, and the stack only when asked for.
    if (process.env.LLAVA_ST_DEBUG) throw e;
    console.error(`error: internal error: ${String((e as Error)?.message ?? e).split('\n')[0]} (LLAVA_ST_DEBUG=1 shows the stack; please report it)`);
    return 70;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  const code = await main(process.argv.slice(2));
  // Dawn may keep handles open: exit explicitly once the command is done.
  process.exit(code);
}
