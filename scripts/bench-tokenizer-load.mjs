// Tokenizer load time, BPE tables built (cache off) against read from the cache, alternating in
// one process so that a busy machine slows both alike. Usage (after npm run build):
//   node scripts/bench-tokenizer-load.mjs [TOKENIZER_DIR] [ROUNDS]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Qwen2Tokenizer } from '../dist/src/io/tokenizer.js';

const dir = process.argv[2] ?? 'models/llava-st-synth';
const rounds = Number(process.argv[3] ?? 5);
const cache = mkdtempSync(join(tmpdir(), 'tok-bench-'));
const load = async (cacheDir) => {
  process.env.LLAVA_ST_CACHE_DIR = cacheDir;
  const t0 = performance.now();
  await Qwen2Tokenizer.fromDirectory(dir);
  return performance.now() - t0;
};
await load(cache); // fills the cache
const ms = { built: [], cached: [] };
for (let i = 0; i < rounds; i++) {
  ms.built.push(await load(''));
  ms.cached.push(await load(cache));
}
rmSync(cache, { recursive: true, force: true });
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const [b, c] = [median(ms.built), median(ms.cached)];
console.log(`tokenizer load (${dir}), median of ${rounds}: built ${b.toFixed(0)} ms, cached ${c.toFixed(0)} ms (${(b / c).toFixed(1)}x)`);
