// Bundles the page (src/web) with esbuild into dist/web: ES modules split into chunks, so code a
// page never runs (the Node-only model sources, ffmpeg video, Dawn) stays in chunks it never loads.
// `llava-st serve` serves dist/web. Prints the JavaScript weight of the page.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const out = 'dist/web';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: ['src/web/main.ts'],
  outdir: join(out, 'assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  // Reached only on Node paths (dynamic imports behind typeof checks); never fetched by a page.
  external: ['node:*', 'webgpu'],
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join('src/web', f), join(out, f));
if (process.argv.includes('--verbose')) {
  const js = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.js'));
  const bytes = js.reduce((n, f) => n + statSync(join(out, 'assets', f)).size, 0);
  console.log(`dist/web: ${js.length} JS files, ${bytes} bytes; inputs ${Object.keys(result.metafile.inputs).length}`);
}
