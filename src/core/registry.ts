// Ownership bookkeeping: every live GPU storage is counted (the leak detector tests use), and
// scopes free every tensor created inside them except what they return.
//
//   const y = scope(() => {           // good: intermediates die with the scope
//     const h = matmul(x, w);          // freed at the end of the scope
//     return add(h, b);                // returned, so it survives (moves to the outer scope)
//   });
//
// The scope stack is global: do not interleave two async scopes (await one before starting another).

export interface Disposable { dispose(): void; readonly disposed: boolean }

export class TensorRegistry {
  liveBuffers = 0;
  liveBytes = 0;
  peakBytes = 0;

  onAlloc(bytes: number): void {
    this.liveBuffers++;
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
  }

  onFree(bytes: number): void {
    this.liveBuffers--;
    this.liveBytes -= bytes;
  }
}

const scopes: Set<Disposable>[] = [];

/** Called by every tensor constructor: the innermost open scope, if any, owns the new tensor. */
export function track(t: Disposable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes a tensor from every open scope so that it outlives them (weights, caches). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'disposed' in value) { out.add(value as Disposable); return; }
  if (Array.isArray(value)) { for (const v of value) collect(v, out, depth + 1); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, out, depth + 1); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function close(owned: Set<Disposable>, result: unknown): void {
  scopes.pop();
  const kept = new Set<Disposable>();
  collect(result, kept);
  for (const t of owned) if (!kept.has(t) && !t.disposed) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) if (owned.has(t)) parent.add(t);
}

/** Runs fn; disposes every tensor created inside it except those in its return value. */
export function scope<T>(fn: () => T): T {
  const owned = new Set<Disposable>();
  scopes.push(owned);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(owned, undefined);
    throw e;
  }
  close(owned, result);
  return result;
}

export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const owned = new Set<Disposable>();
  scopes.push(owned);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    close(owned, undefined);
    throw e;
  }
  close(owned, result);
  return result;
}
