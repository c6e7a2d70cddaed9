// Where the shared fixtures live, from a compiled test in dist/test/model/.
import { fileURLToPath } from 'node:url';

const SHARED = new URL('../../../../shared/', import.meta.url);
export const sharedPath = (rel: string): string => fileURLToPath(new URL(rel, SHARED));
export const TINY = sharedPath('fixtures/llava-st-tiny');
