// Registers the project's kernels (src/wgsl/*.wgsl, embedded by scripts/embed-wgsl.mjs) with the
// kernel cache. Imported for its effect by the entry points: src/index.ts, the CLI, the tests.
import { registerKernelSources } from '../core/kernel.js';
import { WGSL_SOURCES } from './sources.generated.js';

registerKernelSources(WGSL_SOURCES);
