// The on-disk cache of built BPE tables (Node only): building them from vocab.json and merges.txt
// (151k entries each) is most of a tokenizer's load time. Keyed by a hash of every tokenizer file,
// the V8 version (the serialization format) and this cache's layout version. A missing, stale or
// unreadable entry is rebuilt; a cache that cannot be written is skipped silently.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { nodeCacheDir } from '../ops/policy_store.js';
import type { BpeTables, FileKey, TablesCache } from './tokenizer.js';

const LAYOUT = 'bpe-tables-1 @huggingface/tokenizers@0.2';

/** The project's one cache folder (ops/policy_store: the kernel choices live there too), or
 *  undefined when LLAVA_ST_CACHE_DIR is set empty. */
export function cacheDir(): string | undefined {
  if (process.env.LLAVA_ST_CACHE_DIR === '') return undefined;
  return nodeCacheDir(process.env, homedir());
}

export function tablesCache(texts: Partial<Record<FileKey, string>>): TablesCache | undefined {
  const dir = cacheDir();
  if (dir === undefined) return undefined;
  const hash = createHash('sha256').update(`${LAYOUT}\0${process.versions.v8}\0`);
  for (const key of Object.keys(texts).sort() as FileKey[]) hash.update(`${key}\0${texts[key]!.length}\0`).update(texts[key]!);
  const file = join(dir, `tokenizer-${hash.digest('hex').slice(0, 32)}.v8`);
  return {
    async read() {
      try {
        const t = deserialize(await readFile(file)) as BpeTables;
        return t.tokens_to_ids instanceof Map && t.bpe_ranks instanceof Map && Array.isArray(t.vocab) && Number.isInteger(t.bpeSize) ? t : undefined;
      } catch {
        return undefined;
      }
    },
    async write(tables) {
      if (!tables) return;
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(tmp, serialize(tables));
        await rename(tmp, file);
      } catch {
        await unlink(tmp).catch(() => undefined);
      }
    },
  };
}
