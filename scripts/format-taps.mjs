// Where a weight format's error enters and how it grows: asks one question in f32 and in each
// format, with taps on every stage (model/tap_names.ts), and prints each stage's error against
// f32 (max |a-b| / max |a|, and the RMS ratio). The prompt's forward only; answers printed too.
// Usage (after npm run build):
//   node scripts/format-taps.mjs MEDIA [MODEL_DIR] [FORMAT[:GROUP] ...]   (default q8:32 q8:16 q4:32 q4:16 f16)
// MEDIA a video (a TVG question) or a .png/.jpg (a REC question).
import { Assistant, requestGpu } from '../dist/src/index.js';

const [media, modelDir = 'models/llava-st-synth', ...given] = process.argv.slice(2);
if (!media) { console.error('usage: node scripts/format-taps.mjs MEDIA [MODEL_DIR] [FORMAT[:GROUP] ...]'); process.exit(2); }
const formats = given.length > 0 ? given : ['q8:32', 'q8:16', 'q4:32', 'q4:16', 'f16'];
const image = /\.(png|jpe?g)$/i.test(media);
// Every stage but the logits ([P, 151k+] for a video prompt: over a GiB).
const taps = ['vision.embeddings', 'vision', 'projector', 'lape', 'packer.spatial', 'packer.slow', 'inputs_embeds',
  'decoder.layers.0', 'decoder.norm'];

const gpu = await requestGpu();
async function ask(spec) {
  const [format, group = '32'] = spec.split(':');
  const a = await Assistant.load(gpu, modelDir, format === 'f32' ? {} : { weights: { format, group: Number(group) } });
  try {
    return await a.ask({
      media: { kind: image ? 'image' : 'video', path: media }, task: image ? 'rec' : 'tvg', taps, maxNewTokens: 24,
      question: image ? 'What part of this image contains the red square?' : 'When does the red square appear in the video?',
    });
  } finally { a.dispose(); }
}

const rel = (a, b) => {
  let md = 0, ma = 0, sd = 0, sa = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); md = Math.max(md, d); ma = Math.max(ma, Math.abs(a[i])); sd += d * d; sa += a[i] * a[i]; }
  return `${(md / ma).toExponential(1)} / ${Math.sqrt(sd / sa).toExponential(1)}`;
};
try {
  const ref = await ask('f32');
  const runs = [];
  for (const f of formats) runs.push([f, await ask(f)]);
  const present = taps.filter((t) => ref.taps[t] !== undefined);
  console.log(`| stage (max rel / rms rel against f32) | ${formats.join(' | ')} |`);
  console.log(`|---|${formats.map(() => '---').join('|')}|`);
  for (const t of present) console.log(`| ${t} [${ref.taps[t].shape.join(', ')}] | ${runs.map(([, r]) => rel(ref.taps[t].data, r.taps[t].data)).join(' | ')} |`);
  console.log(`\nf32: ${ref.text}`);
  for (const [f, r] of runs) console.log(`${f}: ${r.text}${r.ids.join() === ref.ids.join() ? '  (same ids)' : '  (differs)'}`);
} finally { gpu.destroy(); }
