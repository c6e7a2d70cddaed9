// Where measured kernel choices are kept between runs: a small key -> text store. In Node, one JSON
// file per key in a cache folder; in a browser, IndexedDB. The policy (ops/policy.ts) and the tuner
// (ops/tune.ts) only see this interface.
//   Node folder: $LLAVA_ST_CACHE_DIR, else $XDG_CACHE_HOME/llava-st, else ~/.cache/llava-st
export interface PolicyStore {
  /** Where entries live, for messages ("~/.cache/llava-st/policy-1a2b3c4d.json"). */
  where(key: string): string;
  load(key: string): Promise<string | undefined>;
  save(key: string, text: string): Promise<void>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The folder of the Node store (also where `tune` says it wrote). */
export function nodeCacheDir(env: Record<string, string | undefined> = process.env, home = ''): string {
  if (env.LLAVA_ST_CACHE_DIR) return env.LLAVA_ST_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/llava-st`;
  return `${home || env.HOME || '.'}/.cache/llava-st`;
}

/** One file a key: `${dir}/${key}.json`, written to a temporary name and renamed (never half-written). */
export function fileStore(dir: string): PolicyStore {
  return {
    where: (key) => `${dir}/${key}.json`,
    async load(key) {
      const { readFile } = await import('node:fs/promises');
      try {
        return await readFile(`${dir}/${key}.json`, 'utf8');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async save(key, text) {
      const { mkdir, writeFile, rename } = await import('node:fs/promises');
      await mkdir(dir, { recursive: true });
      const tmp = `${dir}/${key}.json.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, `${dir}/${key}.json`);
    },
  };
}

/** IndexedDB database "llava-st", object store "policy". */
export function indexedDbStore(): PolicyStore {
  const open = (): Promise<IDBDatabase> => new Promise((resolve, reject) => {
    const req = indexedDB.open('llava-st', 1);
    req.onupgradeneeded = () => { req.result.createObjectStore('policy'); };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const request = async <T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest): Promise<T> => {
    const db = await open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const r = f(db.transaction('policy', mode).objectStore('policy'));
        r.onsuccess = () => resolve(r.result as T);
        r.onerror = () => reject(r.error);
      });
    } finally {
      db.close();
    }
  };
  return {
    where: (key) => `IndexedDB llava-st/policy/${key}`,
    load: (key) => request<string | undefined>('readonly', (s) => s.get(key)),
    save: async (key, text) => { await request('readwrite', (s) => s.put(text, key)); },
  };
}

/** In memory only (tests, or a page that must not persist anything). */
export function memoryStore(): PolicyStore & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    where: (key) => `memory:${key}`,
    load: async (key) => entries.get(key),
    save: async (key, text) => { entries.set(key, text); },
  };
}

/** The platform's store: a cache folder in Node, IndexedDB in a browser, else memory. */
export async function defaultStore(): Promise<PolicyStore> {
  if (isNode) {
    const { homedir } = await import('node:os');
    return fileStore(nodeCacheDir(process.env, homedir()));
  }
  if (typeof indexedDB !== 'undefined') return indexedDbStore();
  return memoryStore();
}
