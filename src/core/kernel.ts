// Kernels: a WGSL source from src/wgsl/ (embedded at build time), specialized by text defines
// ({{NAME}} placeholders, e.g. the storage type) and override constants (e.g. workgroup sizes),
// compiled once and cached per specialization, then dispatched within the device's limits.
//
// Binding convention of every kernel in src/wgsl/: @group(0) @binding(0) is the uniform parameter
// block when the kernel has one; storage buffers follow at bindings 1, 2, ... in the order given.
import type { Gpu } from './device.js';
import { DeviceError, LimitError } from './errors.js';
import { WGSL_SOURCES } from '../wgsl/sources.generated.js';

export interface KernelSpec {
  /** File name in src/wgsl/ without .wgsl. */
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
  const body = source.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
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
  private readonly gpu: Gpu;

  constructor(gpu: Gpu, label: string, pipeline: GPUComputePipeline) {
    this.gpu = gpu;
    this.label = label;
    this.pipeline = pipeline;
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
  compiled = 0;

  constructor(gpu: Gpu) {
    this.gpu = gpu;
  }

  /** Labels of the kernels compiled so far. */
  labels(): string[] {
    return [...this.cache.values()].map((k) => k.label);
  }

  get(spec: KernelSpec): Kernel {
    const key = cacheKey(spec);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const source = WGSL_SOURCES[spec.source];
    if (source === undefined) throw new DeviceError(`no WGSL kernel named "${spec.source}" in src/wgsl/ (have: ${Object.keys(WGSL_SOURCES).join(', ')})`);
    for (const e of spec.enables ?? []) {
      const feature = e === 'f16' ? 'shader-f16' : e;
      if (!this.gpu.features.has(feature)) throw new DeviceError(`kernel ${spec.source} needs the "${feature}" feature, which this device lacks`);
    }
    const code = specialize(spec, source);
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: spec.source });
    const pipeline = device.createComputePipeline({
      layout: 'auto', label: key,
      compute: { module, entryPoint: spec.entryPoint ?? 'main', ...(spec.constants ? { constants: spec.constants } : {}) },
    });
    // A compile error surfaces at the next Gpu.check() with the kernel's name and the compiler's messages.
    void device.popErrorScope().then(async (err) => {
      if (!err) return;
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
      this.gpu.reportError(`kernel ${key} failed to compile: ${err.message}${msgs ? ` [${msgs}]` : ''}`);
    });
    const kernel = new Kernel(this.gpu, spec.label ?? spec.source + (spec.entryPoint ? `.${spec.entryPoint}` : ''), pipeline);
    this.cache.set(key, kernel);
    this.compiled++;
    return kernel;
  }
}
