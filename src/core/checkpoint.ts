// A checkpoint: one .safetensors file, or HF shards listed by model.safetensors.index.json, or a
// directory holding either. Presents one name -> (file, entry) map and checks that the index and
// the shards agree exactly, so a weight can never silently come from the wrong place.

import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SafetensorsError } from './errors.js';
import { DEFAULT_READ_ALL_CAP, SafetensorsFile, parseStrictJson, type TensorEntry } from './safetensors.js';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';
/** An index is a name list: far smaller than this even for 70B models. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

export class Checkpoint {
  private constructor(
    /** The .safetensors file or the index file this checkpoint was read from. */
    readonly source: string,
    readonly files: SafetensorsFile[],
    readonly entries: Map<string, TensorEntry>,
    /** The index's `metadata` (for a single file: its `__metadata__`). */
    readonly metadata: Record<string, unknown>,
    private readonly owner: Map<string, SafetensorsFile>,
  ) {}

  /**
   * `path` is a .safetensors file, an index .json, or a directory. In a directory
   * model.safetensors wins over the index, as in transformers' from_pretrained.
   */
  static async open(path: string): Promise<Checkpoint> {
    const target = await resolveSource(resolve(path));
    if (target.endsWith('.json')) return openSharded(target);
    const file = await SafetensorsFile.open(target);
    return new Checkpoint(target, [file], file.entries, { ...file.metadata },
      new Map([...file.entries.keys()].map((n) => [n, file])));
  }

  entry(name: string): TensorEntry {
    return this.fileOf(name).entry(name);
  }

  /** See SafetensorsFile.readChunks: yielded bytes are valid only until the next step. */
  async *readChunks(name: string, chunk: number | Uint8Array): AsyncGenerator<{ offset: number; bytes: Uint8Array }> {
    yield* this.fileOf(name).readChunks(name, chunk);
  }

  async readAll(name: string, maxBytes = DEFAULT_READ_ALL_CAP): Promise<Uint8Array> {
    return this.fileOf(name).readAll(name, maxBytes);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (f === undefined) throw new SafetensorsError(this.source, name, 'no such tensor in this checkpoint');
    return f;
  }

  /** Used by openSharded only. */
  static fromParts(source: string, files: SafetensorsFile[], metadata: Record<string, unknown>,
    owner: Map<string, SafetensorsFile>): Checkpoint {
    const entries = new Map([...owner].map(([n, f]) => [n, f.entry(n)]));
    return new Checkpoint(source, files, entries, metadata, owner);
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function resolveSource(path: string): Promise<string> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    throw new SafetensorsError(path, undefined, `cannot open checkpoint: ${(e as Error).message}`);
  }
  if (!s.isDirectory()) return path;
  for (const name of [SINGLE_FILE_NAME, INDEX_FILE_NAME]) {
    if (await isFile(join(path, name))) return join(path, name);
  }
  throw new SafetensorsError(path, undefined, `directory holds neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}`);
}

interface ShardIndex { metadata: Record<string, unknown>; weightMap: Map<string, string>; totalSize: number | undefined }

/** Parses and type-checks model.safetensors.index.json. */
export function parseIndex(bytes: Uint8Array, file: string): ShardIndex {
  const json = parseStrictJson(bytes, file, 'index', (p) => (p[0] === 'weight_map' ? p[1] : undefined));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsError(file, undefined, 'index JSON is not an object');
  }
  const { metadata = {}, weight_map: map } = json as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError(file, undefined, '"metadata" is not an object');
  }
  const total = (metadata as Record<string, unknown>).total_size;
  if (total !== undefined && !(typeof total === 'number' && Number.isSafeInteger(total) && total >= 0)) {
    throw new SafetensorsError(file, undefined, `metadata.total_size ${JSON.stringify(total)} is not a non-negative integer`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new SafetensorsError(file, undefined, '"weight_map" is missing or not an object');
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    // Shards sit next to the index: a path could point anywhere on disk.
    if (typeof shard !== 'string' || shard === '' || shard !== basename(shard) || shard === '..' || shard.includes('\\')) {
      throw new SafetensorsError(file, name, `weight_map value ${JSON.stringify(shard)} is not a shard file name`);
    }
    weightMap.set(name, shard);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap, totalSize: total as number | undefined };
}

async function openSharded(indexPath: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    const s = await stat(indexPath);
    if (s.size > MAX_INDEX_BYTES) throw new SafetensorsError(indexPath, undefined, `index is ${s.size} bytes, over the ${MAX_INDEX_BYTES}-byte cap`);
    bytes = await readFile(indexPath);
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(indexPath, undefined, `cannot read index: ${(e as Error).message}`);
  }
  const index = parseIndex(bytes, indexPath);
  const dir = dirname(indexPath);
  const shardNames = [...new Set(index.weightMap.values())].sort();
  const files: SafetensorsFile[] = [];
  try {
    for (const shard of shardNames) {
      const path = join(dir, shard);
      if (!(await isFile(path))) {
        const first = [...index.weightMap].find(([, s]) => s === shard)?.[0];
        throw new SafetensorsError(path, first, `shard listed in ${basename(indexPath)} does not exist`);
      }
      files.push(await SafetensorsFile.open(path));
    }
    const owner = checkShards(index, files, indexPath);
    return Checkpoint.fromParts(indexPath, files, index.metadata, owner);
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
}

/** Index and shards must agree name for name; returns name -> owning shard. */
function checkShards(index: ShardIndex, files: SafetensorsFile[], indexPath: string): Map<string, SafetensorsFile> {
  const owner = new Map<string, SafetensorsFile>();
  let total = 0;
  for (const f of files) {
    const shard = basename(f.path);
    for (const [name, e] of f.entries) {
      const other = owner.get(name);
      if (other !== undefined) throw new SafetensorsError(f.path, name, `tensor is also in shard ${basename(other.path)}`);
      const listed = index.weightMap.get(name);
      if (listed === undefined) throw new SafetensorsError(f.path, name, `tensor is not listed in ${basename(indexPath)}`);
      if (listed !== shard) throw new SafetensorsError(f.path, name, `tensor is listed in ${basename(indexPath)} under shard ${listed}`);
      owner.set(name, f);
      total += e.byteLength;
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (!owner.has(name)) throw new SafetensorsError(join(dirname(indexPath), shard), name, `tensor listed in ${basename(indexPath)} is missing from its shard`);
  }
  if (index.totalSize !== undefined && index.totalSize !== total) {
    throw new SafetensorsError(indexPath, undefined, `metadata.total_size is ${index.totalSize} but the shards' tensors hold ${total} bytes`);
  }
  return owner;
}
