// Placeholder for ops whose kernels are being written; removed once every op has a kernel.
import { LlavaStError } from '../core/errors.js';
export function notImplemented(op: string): never {
  throw new LlavaStError('E_TODO', `${op}: not implemented yet`);
}
