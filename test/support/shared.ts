// Where ../shared (fixtures, reference models) lives, from any compiled test in dist/test/<layer>/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SHARED = new URL('../../../../shared/', import.meta.url);

export const sharedPath = (rel: string): string => fileURLToPath(new URL(rel, SHARED));
export const readSharedJson = <T = any>(rel: string): T => JSON.parse(readFileSync(sharedPath(rel), 'utf8')) as T;
export const TINY = sharedPath('fixtures/llava-st-tiny');
