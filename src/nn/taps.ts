// Named activation taps. Modules call `taps?.capture(name, tensor)` on what they produce; nothing
// is copied unless the name was asked for, so forward code never changes for inspection.
// A name may be captured several times (a per-frame stage over 100 frames): the parts are kept in
// order and `get` concatenates them along the first dimension.
//
//   const taps = new Taps(['vision.layers.2', 'projector', 'logits']);
//   await model.forward(..., taps);
//   const x = await taps.read('projector');   // Float32Array
//   taps.dispose();
import { keep } from '../core/registry.js';
import { Tensor } from '../core/tensor.js';
import { copyRows, concatRows } from '../ops/copy.js';

export type TapFilter = Iterable<string> | ((name: string) => boolean);

export class Taps {
  private readonly wanted: (name: string) => boolean;
  private readonly parts = new Map<string, Tensor[]>();

  constructor(filter: TapFilter = () => true) {
    if (typeof filter === 'function') this.wanted = filter;
    else {
      const set = new Set(filter);
      this.wanted = (n) => set.has(n);
    }
  }

  wants(name: string): boolean {
    return this.wanted(name);
  }

  /** Copies `t` into a kept tensor when `name` is wanted. The caller still owns `t`. */
  capture(name: string, t: Tensor): void {
    if (!this.wanted(name)) return;
    const copy = keep(Tensor.empty(t.gpu, t.shape, t.dtype, `tap:${name}`));
    if (t.size > 0) copyRows(copy, 0, t, 0, t.shape[0] ?? 1);
    let list = this.parts.get(name);
    if (!list) this.parts.set(name, (list = []));
    list.push(copy);
  }

  names(): string[] {
    return [...this.parts.keys()];
  }

  has(name: string): boolean {
    return this.parts.has(name);
  }

  /** Number of captures of `name` (0 if none). */
  count(name: string): number {
    return this.parts.get(name)?.length ?? 0;
  }

  /** The captured tensor (parts concatenated along dim 0); owned by the taps. */
  get(name: string): Tensor {
    const list = this.parts.get(name);
    if (!list || list.length === 0) throw new Error(`tap ${name} was not captured (captured: ${this.names().join(', ') || 'none'})`);
    if (list.length > 1) {
      const joined = keep(concatRows(list));
      for (const p of list) p.dispose();
      list.splice(0, list.length, joined);
    }
    return list[0]!;
  }

  async read(name: string): Promise<Float32Array> {
    const a = await this.get(name).toArray();
    return a instanceof Float32Array ? a : Float32Array.from(a);
  }

  dispose(): void {
    for (const list of this.parts.values()) for (const t of list) if (!t.disposed) t.dispose();
    this.parts.clear();
  }
}
