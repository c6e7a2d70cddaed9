// A checkpoint: one .safetensors file, or HF shards listed by model.safetensors.index.json, or a
// directory holding either. Presents one name -> (file, entry) map and checks that the index and
// the shards agree exactly, so a weight can never silently come from the wrong place.
// The files come from a ModelSource (folder, URL, dropped files); a path opens a folder source.

import { SafetensorsError } from './errors.js';
import { DEFAULT_READ_ALL_CAP, SafetensorsFile, parseStrictJson, wrap, type TensorEntry } from './safetensors.js';
import { isPlainFileName, type ModelSource } from './source.js';

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
    /** The source, when this checkpoint opened it (a path) and so closes it. */
    private readonly ownedSource?: ModelSource,
  ) {}

  /**
   * `path` (Node) is a .safetensors file, an index .json, or a directory. In a directory
   * model.safetensors wins over the index, as in transformers' from_pretrained.
   */
  static async open(path: string): Promise<Checkpoint> {
    const { openPath } = await import('./dir_source.js');
    const { source, file } = await wrap(openPath(path), path, undefined);
    try {
      return await Checkpoint.fromSource(source, file, true);
    } catch (e) {
      await source.close();
      throw e;
    }
  }

  /**
   * The checkpoint of a source: `file` names the .safetensors file or index .json; without it the
   * source is a folder holding model.safetensors or else model.safetensors.index.json.
   * `ownsSource`: close() closes the source too.
   */
  static async fromSource(source: ModelSource, file?: string, ownsSource = false): Promise<Checkpoint> {
    const target = file ?? await findCheckpointFile(source);
    const ck = target.endsWith('.json') ? await openSharded(source, target) : await openSingle(source, target);
    return ownsSource ? new Checkpoint(ck.source, ck.files, ck.entries, ck.metadata, ck.owner, source) : ck;
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
    await this.ownedSource?.close();
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (f === undefined) throw new SafetensorsError(this.source, name, 'no such tensor in this checkpoint');
    return f;
  }

  /** Used by openSingle and openSharded. */
  static fromParts(source: string, files: SafetensorsFile[], metadata: Record<string, unknown>,
    owner: Map<string, SafetensorsFile>): Checkpoint {
    const entries = new Map([...owner].map(([n, f]) => [n, f.entry(n)]));
    return new Checkpoint(source, files, entries, metadata, owner);
  }
}

async function openSingle(source: ModelSource, name: string): Promise<Checkpoint> {
  const file = await SafetensorsFile.openFrom(source, name);
  return Checkpoint.fromParts(file.path, [file], { ...file.metadata }, new Map([...file.entries.keys()].map((n) => [n, file])));
}

async function findCheckpointFile(source: ModelSource): Promise<string> {
  for (const name of [SINGLE_FILE_NAME, INDEX_FILE_NAME]) {
    if (await wrap(source.size(name), source.where(name), undefined) !== undefined) return name;
  }
  throw new SafetensorsError(source.label, undefined, `directory holds neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}`);
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
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new SafetensorsError(file, name, `weight_map value ${JSON.stringify(shard)} is not a shard file name`);
    }
    weightMap.set(name, shard);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap, totalSize: total as number | undefined };
}

async function openSharded(source: ModelSource, indexName: string): Promise<Checkpoint> {
  const indexPath = source.where(indexName);
  const size = await wrap(source.size(indexName), indexPath, undefined);
  if (size === undefined) throw new SafetensorsError(indexPath, undefined, 'cannot read index: no such file');
  if (size > MAX_INDEX_BYTES) throw new SafetensorsError(indexPath, undefined, `index is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte cap`);
  const bytes = await wrap(source.read(indexName, 0, size), indexPath, undefined);
  const index = parseIndex(bytes, indexPath);
  const shardNames = [...new Set(index.weightMap.values())].sort();
  const files: SafetensorsFile[] = [];
  try {
    for (const shard of shardNames) {
      if (await wrap(source.size(shard), source.where(shard), undefined) === undefined) {
        const first = [...index.weightMap].find(([, s]) => s === shard)?.[0];
        throw new SafetensorsError(source.where(shard), first, `shard listed in ${indexName} does not exist`);
      }
      files.push(await SafetensorsFile.openFrom(source, shard));
    }
    const owner = checkShards(index, files, indexName, source);
    return Checkpoint.fromParts(indexPath, files, index.metadata, owner);
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
}

/** Index and shards must agree name for name; returns name -> owning shard. */
function checkShards(index: ShardIndex, files: SafetensorsFile[], indexName: string, source: ModelSource): Map<string, SafetensorsFile> {
  const owner = new Map<string, SafetensorsFile>();
  const indexPath = source.where(indexName);
  let total = 0;
  for (const f of files) {
    const shard = f.name;
    for (const [name, e] of f.entries) {
      const other = owner.get(name);
      if (other !== undefined) throw new SafetensorsError(f.path, name, `tensor is also in shard ${other.name}`);
      const listed = index.weightMap.get(name);
      if (listed === undefined) throw new SafetensorsError(f.path, name, `tensor is not listed in ${indexName}`);
      if (listed !== shard) throw new SafetensorsError(f.path, name, `tensor is listed in ${indexName} under shard ${listed}`);
      owner.set(name, f);
      total += e.byteLength;
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (!owner.has(name)) throw new SafetensorsError(source.where(shard), name, `tensor listed in ${indexName} is missing from its shard`);
  }
  if (index.totalSize !== undefined && index.totalSize !== total) {
    throw new SafetensorsError(indexPath, undefined, `metadata.total_size is ${index.totalSize} but the shards' tensors hold ${total} bytes`);
  }
  return owner;
}
