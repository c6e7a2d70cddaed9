// Registers the project's kernels (src/wgsl/*.wgsl) and the snippets they #include
// (src/wgsl/include/*.wgsl), embedded by scripts/embed-wgsl.mjs, with the kernel cache.
// Imported for its effect by the entry points: src/index.ts, the CLI, the tests.
import { registerKernelSnippets, registerKernelSources } from '../core/kernel.js';
import { WGSL_SNIPPETS, WGSL_SOURCES } from './sources.generated.js';

registerKernelSnippets(WGSL_SNIPPETS);
registerKernelSources(WGSL_SOURCES);
