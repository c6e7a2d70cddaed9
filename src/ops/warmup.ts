// Pipelines built ahead of the question that needs them (core/kernel.ts KernelCache.prepare).
// On lavapipe the first question of a process spent about 0.37 s of its 1 s wall building
// pipelines on the JS thread, 0.25 s of it the two unrolled attention kernels (README, start-up).
// The kernels a model's questions built are listed in the policy store, per adapter, driver and
// library version (the policy's key), model workload, compute dtype and weight format; the next
// process hands the list to prepare() before it loads the weights, and Dawn builds them on its
// worker threads, side by side and meanwhile. Assistant.ask waits for them (KernelCache.ready)
// before it records. One list for all of a model's questions: an image question also builds the
// few kernels only videos use.
//   entry `kernels-<key>-<workload>-<dtype>.<format>`: { "schema": 1, "specs": KernelSpec[] }
// LLAVA_ST_TUNE=off reads and writes no list, as it reads no policy.
import type { Gpu } from '../core/device.js';
import type { KernelSpec } from '../core/kernel.js';
import type { Workload } from './policy.js';
import { defaultStore, type PolicyStore } from './policy_store.js';
import { envMode, storeSuffix } from './tune.js';

export interface WarmUpOptions {
  /** The model's workload (model/workload.ts tuningWorkload): lists are kept per model. */
  workload?: (dtype: 'f32' | 'f16') => Workload;
  /** The compute dtype and weight format, which pick kernels too: a list for each pair. */
  dtype?: 'f32' | 'f16';
  format?: string;
  store?: PolicyStore;
  /** off: no list is read or written (default: LLAVA_ST_TUNE, as the policy). */
  mode?: 'auto' | 'off';
  /** Where a list that cannot be read or written is reported (it is only a hint: never an error). */
  log?: (s: string) => void;
}

export interface KernelWarmUp {
  /** Kernels of the list handed to prepare() (0: no list yet, or mode off). */
  readonly listed: number;
  /** Adds the kernels dispatched since to the list; writes it only when it grew. */
  save(): Promise<void>;
}

interface KernelList { schema: 1; specs: KernelSpec[] }

const keyOf = (s: KernelSpec): string => JSON.stringify(s);

export async function warmUpKernels(gpu: Gpu, opts: WarmUpOptions = {}): Promise<KernelWarmUp> {
  const mode = opts.mode ?? (envMode() === 'off' ? 'off' : 'auto');
  if (mode === 'off') return { listed: 0, save: async () => {} };
  const store = opts.store ?? await defaultStore();
  const id = `kernels-${storeSuffix(gpu, opts.workload)}${opts.dtype ? `-${opts.dtype}.${opts.format ?? opts.dtype}` : ''}`;
  const log = opts.log ?? (() => {});
  const listed = parseList(await store.load(id).catch((e: unknown) => { log(`cannot read ${store.where(id)}: ${(e as Error).message}`); return undefined; }));
  void gpu.kernels.prepare(listed);
  const known = new Set(listed.map(keyOf));
  const ran = gpu.kernels.record(); // from here on: the questions' kernels, not the tuner's trials
  return {
    listed: listed.length,
    async save() {
      const built = ran.specs().filter((s) => !known.has(keyOf(s)));
      if (built.length === 0) return;
      for (const s of built) known.add(keyOf(s));
      const list: KernelList = { schema: 1, specs: [...listed, ...built] };
      listed.push(...built);
      await store.save(id, JSON.stringify(list) + '\n').catch((e: unknown) => log(`cannot write ${store.where(id)}: ${(e as Error).message}`));
    },
  };
}

/** The specs of a stored list; none when absent or unreadable (the list is only a hint). */
function parseList(text: string | undefined): KernelSpec[] {
  if (text === undefined) return [];
  try {
    const l = JSON.parse(text) as KernelList;
    if (l.schema === 1 && Array.isArray(l.specs)) return l.specs.filter((s) => typeof s?.source === 'string');
  } catch { /* a hint only */ }
  return [];
}
