// One function to get a WebGPU device: Dawn's node binding (npm `webgpu`) in Node, navigator.gpu in
// a browser. It requests the adapter's own limits and the optional features we use, and turns
// uncaptured GPU errors and device loss into typed errors at the next call.
import { DeviceError } from './errors.js';
import { BufferPool } from './pool.js';
import { CommandStream } from './stream.js';
import { KernelCache } from './kernel.js';
import { TensorRegistry } from './registry.js';

export type Backend = 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'opengl' | 'opengles' | 'null';
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

export interface GpuOptions {
  /** Dawn backend (Node only). Default: env LLAVA_ST_BACKEND, else the platform's native one. */
  backend?: Backend;
  /** Features to leave off even if the adapter has them (e.g. to test the f32-only paths). */
  disableFeatures?: OptionalFeature[];
  /** Lower some limits artificially, e.g. maxStorageBufferBindingSize, so tests exercise split paths. */
  limitOverrides?: Partial<Record<keyof GPUSupportedLimits, number>>;
  powerPreference?: GPUPowerPreference;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  /** The fewest lanes a subgroup may have (0 where the adapter does not say): kernels that
   *  broadcast between 8 lanes need 8. */
  subgroupMinSize: number;
}

/** The subset of limits the runtime consults; all come from the adapter, some possibly lowered. */
export interface Limits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
  maxUniformBufferBindingSize: number;
}

const LIMIT_KEYS: (keyof Limits)[] = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage', 'minStorageBufferOffsetAlignment', 'minUniformBufferOffsetAlignment',
  'maxUniformBufferBindingSize',
];

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

function defaultBackend(): Backend | undefined {
  if (!isNode) return undefined;
  const env = process.env.LLAVA_ST_BACKEND;
  if (env) return env as Backend;
  if (process.platform === 'linux') return 'vulkan';
  return undefined; // Dawn picks Metal on macOS, D3D12 on Windows
}

const NO_ADAPTER_HELP =
  'No WebGPU adapter found. On Linux without a GPU, install Mesa\'s lavapipe >= 25 ' +
  '(Debian bookworm\'s 22.3 is too old: Dawn refuses it with "shaderUniform*ArrayDynamicIndexing required"; ' +
  'bookworm-backports has 25.0.7: run `bash scripts/setup.sh`), and make sure XDG_RUNTIME_DIR points to a ' +
  'private directory. With a GPU, check its Vulkan driver (`vulkaninfo --summary`). ' +
  'The backend can be chosen with LLAVA_ST_BACKEND=vulkan|null|...';

/**
 * While a GPU promise is pending (a read back, onSubmittedWorkDone), Dawn's node binding polls by
 * re-queuing a native callback with the global setImmediate: a busy loop that holds one JS-thread
 * core for the whole wait. On a CPU adapter that core is taken from the kernels being waited for
 * (lavapipe, 2 cores: one dispatch that took 1066 ms with the loop took 691 ms without it). The
 * binding's own callbacks (anonymous native functions) are re-queued on a 1 ms timer instead: a wait
 * ends at most 1 ms late. Every other caller's setImmediate is untouched. LLAVA_ST_POLL=spin keeps
 * Dawn's loop (to compare).
 */
function politePolling(): void {
  const immediate = globalThis.setImmediate as typeof setImmediate & { politeFor?: string };
  if (immediate.politeFor !== undefined || process.env.LLAVA_ST_POLL === 'spin') return;
  const nativePoll = (fn: unknown): boolean =>
    typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn) === 'function () { [native code] }';
  const polite = ((fn: (...args: unknown[]) => void, ...args: unknown[]) =>
    nativePoll(fn) ? setTimeout(fn, 1, ...args) : immediate(fn, ...args)) as unknown as typeof setImmediate & { politeFor: string };
  Object.defineProperties(polite, Object.getOwnPropertyDescriptors(immediate)); // util.promisify.custom, name
  polite.politeFor = 'dawn';
  globalThis.setImmediate = polite;
}

/** Loads Dawn in Node. The returned GPU object must stay referenced for the device's life. */
async function nodeGpu(backend: Backend | undefined): Promise<GPU> {
  politePolling();
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa's WSI code looks for it even in compute-only use; a private temp dir is enough.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'llava-st-xdg-'));
  }
  let mod: { create: (o: string[]) => GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new DeviceError(`cannot load Dawn's node binding (npm package "webgpu"): ${(e as Error).message}. Run npm install.`, { cause: e });
  }
  // GPUBufferUsage, GPUMapMode, ... as globals, the same names a browser has.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Dawn rounds timestamps down to 2^16 ns by default (a browser's timing-attack guard): a 70 us
  // kernel would read 0 or 65.5 us, and the profiler's and tuner's sums of short dispatches drift.
  return mod.create([...(backend ? [`backend=${backend}`] : []), 'disable-dawn-features=timestamp_quantization']);
}

export class Gpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  readonly limits: Limits;
  readonly adapterLimits: Record<string, number>;
  readonly features: ReadonlySet<string>;
  readonly pool: BufferPool;
  readonly stream: CommandStream;
  readonly kernels: KernelCache;
  readonly tensors: TensorRegistry;
  /** Dawn's instance: kept referenced so it is not collected while the device lives. */
  private readonly instance: GPU;
  private readonly errors: string[] = [];
  private lost: string | undefined;
  private destroyed = false;

  constructor(instance: GPU, device: GPUDevice, adapter: AdapterDescription, limits: Limits,
    adapterLimits: Record<string, number>) {
    this.instance = instance;
    this.device = device;
    this.adapter = adapter;
    this.limits = limits;
    this.adapterLimits = adapterLimits;
    this.features = new Set([...device.features].map(String));
    this.pool = new BufferPool(device);
    this.stream = new CommandStream(this);
    this.kernels = new KernelCache(this);
    this.tensors = new TensorRegistry();
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => { this.errors.push(ev.error.message); };
    void device.lost.then((info) => {
      if (!this.destroyed) this.lost = `${info.reason}: ${info.message}`;
    });
  }

  get hasF16(): boolean { return this.features.has('shader-f16'); }
  get hasSubgroups(): boolean { return this.features.has('subgroups'); }
  /** Subgroups of at least n lanes on every dispatch (so n invocations of a workgroup share one). */
  hasSubgroupsOf(n: number): boolean { return this.hasSubgroups && this.adapter.subgroupMinSize >= n; }
  get hasTimestamps(): boolean { return this.features.has('timestamp-query'); }

  /** Throws a DeviceError if the device was lost or an uncaptured GPU error happened since the last check. */
  check(): void {
    if (this.destroyed) throw new DeviceError('the GPU device was destroyed (Gpu.destroy() was called)');
    if (this.lost !== undefined) throw new DeviceError(`the GPU device was lost (${this.lost}); create a new one with requestGpu()`);
    if (this.errors.length) {
      const msgs = this.errors.splice(0);
      throw new DeviceError(`GPU error${msgs.length > 1 ? `s (${msgs.length})` : ''}: ${msgs.join(' | ')}`);
    }
  }

  /** Records an error to be thrown by the next check() (asynchronous failures). */
  reportError(message: string): void {
    this.errors.push(message);
  }

  /** Submits recorded work and waits until the GPU has finished it; then surfaces any error. */
  async sync(): Promise<void> {
    this.stream.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.stream.submit();
    this.pool.destroyAll();
    this.destroyed = true;
    this.device.destroy();
    void this.instance;
  }
}

export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  let gpu: GPU | undefined;
  if (isNode) gpu = await nodeGpu(options.backend ?? defaultBackend());
  else gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new DeviceError('navigator.gpu is missing: this browser has no WebGPU (Chromium: --enable-unsafe-webgpu)');

  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (!adapter) throw new DeviceError(NO_ADAPTER_HELP);

  const adapterLimits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') adapterLimits[k] = v;
  }
  const disabled = new Set(options.disableFeatures ?? []);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits: adapterLimits });
  } catch (e) {
    throw new DeviceError(`the adapter refused a device with its own limits and features [${requiredFeatures.join(', ')}]: ${(e as Error).message}`, { cause: e });
  }

  const limits = {} as Limits;
  for (const k of LIMIT_KEYS) {
    const own = adapterLimits[k];
    if (own === undefined) throw new DeviceError(`the adapter does not report the limit ${k}`);
    const lowered = options.limitOverrides?.[k];
    limits[k] = lowered !== undefined ? Math.min(own, lowered) : own;
  }
  const info = adapter.info;
  const description: AdapterDescription = {
    vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '',
    description: info?.description ?? '',
    subgroupMinSize: (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0,
    backend: isNode ? (options.backend ?? defaultBackend() ?? 'native') : 'browser',
  };
  return new Gpu(gpu, device, description, limits, adapterLimits);
}
