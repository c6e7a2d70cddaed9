// Kernels: a WGSL source registered by name, specialized by text defines ({{NAME}} placeholders,
// e.g. the storage type) and override constants (e.g. workgroup sizes), compiled once and cached
// per specialization, then dispatched within the device's limits.
//
// WGSL has no #include: a line `#include NAME` in a source (or a snippet) is replaced by the
// registered snippet NAME before the placeholders are filled, so a snippet may use the kernel's
// placeholders. Each snippet goes in once per kernel (a second #include of it is dropped).
//
// The runtime knows no kernel by name: sources are registered from outside. The project's kernels
// (src/wgsl/*.wgsl, embedded at build time) are registered by src/wgsl/index.ts, which the
// package's entry points import; a caller adds their own with registerKernelSources().
//
// Binding convention of every kernel in src/wgsl/: @group(0) @binding(0) is the uniform parameter
// block when the kernel has one; storage buffers follow at bindings 1, 2, ... in the order given.
import type { Gpu } from './device.js';
import { DeviceError, LimitError } from './errors.js';

const SOURCES = new Map<string, string>();
let digest: string | undefined; // kernelLibraryDigest() of what is registered now

/**
 * Makes WGSL sources available to every device's kernel cache, by name. Registering the same
 * text again is a no-op; a different text under a taken name is refused (two kernels, one name).
 */
export function registerKernelSources(sources: Readonly<Record<string, string>>): void {
  for (const [name, code] of Object.entries(sources)) {
    const had = SOURCES.get(name);
    if (had !== undefined && had !== code) throw new DeviceError(`registerKernelSources: a different kernel is already registered as "${name}"`);
  }
  for (const [name, code] of Object.entries(sources)) SOURCES.set(name, code);
  digest = undefined;
}

const SNIPPETS = new Map<string, string>();

/** Makes WGSL snippets available to `#include NAME` lines of kernels; same rules as sources. */
export function registerKernelSnippets(snippets: Readonly<Record<string, string>>): void {
  for (const [name, code] of Object.entries(snippets)) {
    if (!/^\w+$/.test(name)) throw new DeviceError(`registerKernelSnippets: "${name}" is not a snippet name (letters, digits, _)`);
    const had = SNIPPETS.get(name);
    if (had !== undefined && had !== code) throw new DeviceError(`registerKernelSnippets: a different snippet is already registered as "${name}"`);
  }
  for (const [name, code] of Object.entries(snippets)) SNIPPETS.set(name, code);
  digest = undefined;
}

/** The names of the registered kernel sources. */
export const kernelSourceNames = (): string[] => [...SOURCES.keys()];

/** A digest of every registered source and snippet: changes when any kernel text changes (the
 *  kernel policy's cache key, ops/policy.ts). */
export function kernelLibraryDigest(): string {
  const all = () => [...[...SOURCES].map(([k, v]) => `source ${k}\n${v}`), ...[...SNIPPETS].map(([k, v]) => `snippet ${k}\n${v}`)].sort();
  return (digest ??= fnv1a(all().join('\n')));
}

export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Replaces each `#include NAME` line by its snippet (recursively, each snippet once). */
export function expandIncludes(kernel: string, source: string, seen = new Set<string>()): string {
  return source.replace(/^[ \t]*#include[ \t]+(\S+)[ \t]*$/gm, (_, name: string) => {
    const code = SNIPPETS.get(name);
    if (code === undefined) {
      throw new DeviceError(`kernel ${kernel}: #include ${name}: no WGSL snippet of that name is registered (registered: ${[...SNIPPETS.keys()].join(', ') || 'none'})`);
    }
    if (seen.has(name)) return '';
    seen.add(name);
    return expandIncludes(kernel, code, seen);
  });
}

export interface KernelSpec {
  /** Registered source name (for the project's kernels: the file name in src/wgsl/ without .wgsl). */
  source: string;
  entryPoint?: string;
  /** Text substitutions for {{KEY}} placeholders (types, unrolled sizes, feature-dependent code). */
  defines?: Record<string, string | number>;
  /** WGSL `override` constants (workgroup sizes, tile sizes). */
  constants?: Record<string, number>;
  /** `enable` directives, e.g. ['f16'] or ['subgroups']. */
  enables?: string[];
  /** Name in profiles and errors (default: source[.entryPoint]); ops put the policy's variant name here. */
  label?: string;
}

/** A buffer range bound as storage; tensors provide one with their name for error messages. */
export interface BufferBinding { buffer: GPUBuffer; offset?: number; size: number; label?: string }

export type Workgroups = number | readonly [number, number?, number?];

export function specialize(spec: KernelSpec, source: string): string {
  const body = expandIncludes(spec.source, source).replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = spec.defines?.[key];
    if (v === undefined) throw new DeviceError(`kernel ${spec.source}: no value for the placeholder {{${key}}}`);
    return String(v);
  });
  const enables = (spec.enables ?? []).map((e) => `enable ${e};\n`).join('');
  return enables + body;
}

function cacheKey(spec: KernelSpec): string {
  const sorted = (o?: Record<string, unknown>) => (o ? Object.keys(o).sort().map((k) => `${k}=${o[k]}`).join(',') : '');
  return `${spec.source}:${spec.entryPoint ?? 'main'}|${sorted(spec.defines)}|${sorted(spec.constants)}|${(spec.enables ?? []).join(',')}|${spec.label ?? ''}`;
}

export class Kernel {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  /** The specialization this pipeline was compiled from. */
  readonly spec: KernelSpec;
  private readonly gpu: Gpu;

  constructor(gpu: Gpu, label: string, pipeline: GPUComputePipeline, spec: KernelSpec) {
    this.gpu = gpu;
    this.label = label;
    this.pipeline = pipeline;
    this.spec = spec;
  }

  /** Splits a 1-D workgroup count over x and y when it exceeds maxComputeWorkgroupsPerDimension.
   *  Kernels using it compute their linear workgroup index as wid.x + wid.y * num_workgroups.x and
   *  return when it is past the end. */
  fold(count: number): [number, number, number] {
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (count <= max) return [Math.max(count, 1), 1, 1];
    const y = Math.ceil(count / max);
    if (y > max) throw new LimitError(`${this.label}: ${count} workgroups exceed ${max}² (maxComputeWorkgroupsPerDimension)`);
    return [Math.ceil(count / y), y, 1];
  }

  dispatch(storage: readonly BufferBinding[], workgroups: Workgroups, uniforms?: ArrayBufferView): void {
    this.gpu.check();
    const maxBinding = this.gpu.limits.maxStorageBufferBindingSize;
    for (const b of storage) {
      if (b.size > maxBinding) {
        throw new LimitError(`${this.label}: ${b.label ?? 'a buffer'} binds ${b.size} B, over maxStorageBufferBindingSize ${maxBinding} B of this device; split it`);
      }
    }
    const [x, y, z] = typeof workgroups === 'number' ? this.fold(workgroups) : [workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1];
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new LimitError(`${this.label}: dispatch ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`);
    if (x === 0 || y === 0 || z === 0) return;
    this.gpu.kernels.noteDispatch(this);
    const stream = this.gpu.stream;
    stream.reserve(uniforms ? uniforms.byteLength + 16 : 0);
    const entries: GPUBindGroupEntry[] = [];
    if (uniforms) {
      const slot = stream.uniforms(uniforms);
      entries.push({ binding: 0, resource: { buffer: slot.buffer, offset: slot.offset, size: slot.size } });
    }
    storage.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: Math.ceil(b.size / 4) * 4 } });
    });
    const group = this.gpu.device.createBindGroup({ layout: this.pipeline.getBindGroupLayout(0), entries });
    stream.dispatch(this.pipeline, [group], x, y, z, this.label);
  }
}

export class KernelCache {
  private readonly cache = new Map<string, Kernel>();
  private readonly gpu: Gpu;
  private readonly traces: KernelSpec[][] = [];
  private readonly pending = new Map<string, Promise<void>>();
  private readonly recorders = new Set<Set<Kernel>>();
  /** Pipelines built by get() on the spot, and by prepare() ahead of use. */
  compiled = 0;
  prepared = 0;

  constructor(gpu: Gpu) {
    this.gpu = gpu;
  }

  /** Runs `fn` and lists the kernel specializations it dispatched, in order (tests, tools). */
  trace<T>(fn: () => T): { result: T; dispatched: KernelSpec[] } {
    const dispatched: KernelSpec[] = [];
    this.traces.push(dispatched);
    try {
      return { result: fn(), dispatched };
    } finally {
      this.traces.splice(this.traces.indexOf(dispatched), 1);
    }
  }

  /** Records which kernels dispatch from now on, until stop(): what questions ran, not what the
   *  tuner tried before them (ops/warmup.ts lists it). */
  record(): { specs(): KernelSpec[]; stop(): void } {
    const ran = new Set<Kernel>();
    this.recorders.add(ran);
    return { specs: () => [...ran].map((k) => k.spec), stop: () => { this.recorders.delete(ran); } };
  }

  /** Called by Kernel.dispatch: records the dispatch in every open trace and recording. */
  noteDispatch(kernel: Kernel): void {
    for (const t of this.traces) t.push(kernel.spec);
    for (const r of this.recorders) r.add(kernel);
  }

  /** Labels of the kernels compiled so far. */
  labels(): string[] {
    return [...this.cache.values()].map((k) => k.label);
  }

  get(spec: KernelSpec): Kernel {
    const key = cacheKey(spec);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const { module, descriptor } = this.build(spec, key);
    const pipeline = this.gpu.device.createComputePipeline(descriptor);
    // A compile error surfaces at the next Gpu.check() with the kernel's name and the compiler's messages.
    void this.gpu.device.popErrorScope().then(async (err) => {
      if (!err) return;
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
      this.gpu.reportError(`kernel ${key} failed to compile: ${err.message}${msgs ? ` [${msgs}]` : ''}`);
    });
    this.compiled++;
    return this.add(key, spec, pipeline);
  }

  /**
   * Builds these specializations in the background, for get() to find ready: Dawn builds pipelines
   * asked for with createComputePipelineAsync on its worker threads, so they build side by side
   * and while the JS thread does other work (model loading). What ready() awaits. A spec that
   * cannot be built here (a source or feature missing, a compile error) is skipped: get() builds
   * it again and reports why, as for any kernel.
   */
  prepare(specs: readonly KernelSpec[]): Promise<void> {
    for (const spec of specs) {
      const key = cacheKey(spec);
      if (this.cache.has(key) || this.pending.has(key)) continue;
      let built: ReturnType<KernelCache['build']>;
      try {
        built = this.build(spec, key);
      } catch {
        continue; // unknown source or missing feature: get() says so if the kernel is ever used
      }
      void this.gpu.device.popErrorScope(); // a module that does not compile fails the pipeline below
      const job = this.gpu.device.createComputePipelineAsync(built.descriptor).then((pipeline) => {
        if (!this.cache.has(key)) { this.add(key, spec, pipeline); this.prepared++; }
      }, () => {}).finally(() => this.pending.delete(key));
      this.pending.set(key, job);
    }
    return this.ready();
  }

  /** Resolves when every build that prepare() started has finished. */
  async ready(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending.values());
  }

  /** The shader module and pipeline descriptor of a spec, with a validation error scope pushed
   *  before the module (the caller pops it once it has made the pipeline, or asked for it). */
  private build(spec: KernelSpec, key: string): { module: GPUShaderModule; descriptor: GPUComputePipelineDescriptor } {
    const source = SOURCES.get(spec.source);
    if (source === undefined) {
      throw new DeviceError(`no WGSL kernel named "${spec.source}" is registered (registered: ${kernelSourceNames().join(', ') || 'none'}); `
        + "import the package's entry point, which registers src/wgsl/, or call registerKernelSources()");
    }
    for (const e of spec.enables ?? []) {
      const feature = e === 'f16' ? 'shader-f16' : e;
      if (!this.gpu.features.has(feature)) throw new DeviceError(`kernel ${spec.source} needs the "${feature}" feature, which this device lacks`);
    }
    const code = specialize(spec, source);
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: spec.source });
    return {
      module,
      descriptor: { layout: 'auto', label: key, compute: { module, entryPoint: spec.entryPoint ?? 'main', ...(spec.constants ? { constants: spec.constants } : {}) } },
    };
  }

  private add(key: string, spec: KernelSpec, pipeline: GPUComputePipeline): Kernel {
    const kernel = new Kernel(this.gpu, spec.label ?? spec.source + (spec.entryPoint ? `.${spec.entryPoint}` : ''), pipeline, spec);
    this.cache.set(key, kernel);
    return kernel;
  }
}
