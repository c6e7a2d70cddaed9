// The page: pick a model (the served one, a URL, a local folder), drop a video or an image, ask one
// of the eight tasks or a free question, and watch the answer stream and its boxes and spans drawn.
// Stable hooks for scripts and tests: #media, #task, #query, #ask and #result, whose text, once the
// answer is complete, is the JSON `llava-st run --json` prints (answer ids included); #error holds
// a failure in plain words. ?model=URL picks the model. window.llavaSt exposes the live GPU bytes.
import '../wgsl/index.js'; // registers the project's kernels
import { requestGpu, type Gpu } from '../core/device.js';
import { LlavaStError } from '../core/errors.js';
import { HttpSource } from '../core/http_source.js';
import { BlobSource } from '../core/blob_source.js';
import type { ModelSource } from '../core/source.js';
import { Assistant, answerRecord, type AnswerResult, type MediaInput } from '../tasks/assistant.js';
import { taskQuestion, TASK_MODALITY, type Task, type TaskRequest } from '../tasks/task_prompts.js';
import type { AnswerTask, Problem } from '../tasks/coordinates.js';
import { drawAnswer, showMedia, type Shown } from './view.js';
import { loadPolicy } from '../ops/tune.js';
import { adapterFacts, chooseLayout, makePlan, readCheckpointFacts } from '../model/plan.js';
import { DEFAULT_GROUP_SIZE } from '../core/quant.js';
import { WEIGHT_FORMATS, type ComputeDType, type WeightFormat, type WeightLayout } from '../nn/weight_format.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const STRICT: ReadonlySet<string> = new Set<AnswerTask>(['tvg', 'stvg', 'svg', 'rec', 'elc']);

/** What each task needs from the form, and the help line shown for it. */
const NEEDS: Record<Task | 'prompt', { query?: string; box?: boolean; span?: 'one' | 'two'; help: string }> = {
  prompt: { query: 'the whole question; coordinates inline as <t0.4>, <w0.5>, <h0.6>', help: 'Any question about the video or image.' },
  tvg: { query: 'what happens (a caption)', help: 'Answers a time span.' },
  stvg: { query: 'the event or object', help: 'Answers a span and a box on each frame in it.' },
  svg: { query: 'the rest of the sentence, e.g. "where is the green triangle?"', span: 'two', help: 'Drag a span on the timeline; answers a box per frame.' },
  elc: { box: true, span: 'one', help: 'Drag a box on the frame and click the start time on the timeline.' },
  tr: { span: 'two', help: 'Drag a span on the timeline; answers a caption.' },
  dgc: { help: 'A caption of the whole video with a box after each object.' },
  rec: { query: 'the object, e.g. "the red square"', help: 'Answers a box.' },
  reg: { box: true, help: 'Drag a box on the image; answers a description.' },
};

/** Plain words for the coordinate codec's problems. */
const PROBLEM_WORDS: Record<Problem['kind'], string> = {
  'not-found': 'The answer has no coordinates where the task expects them.',
  'missing-bracket': 'A bracket the model opened is never closed.',
  'wrong-arity': 'A span or box has the wrong number of coordinates.',
  'wrong-kind': 'A coordinate of the wrong kind (time where a position belongs, or the reverse).',
  'bin-out-of-range': 'A coordinate is outside the 100 bins.',
  'start-after-end': 'A span ends before it starts.',
  'inverted-box': 'A box has its right edge left of its left edge, or its bottom above its top.',
  'missing-key': 'A per-frame box has no time before it.',
  'missing-colon': 'A per-frame time is not followed by ":".',
  'unexpected-text': 'Text where the task expects a coordinate.',
};

interface Loaded { key: string; source: ModelSource; assistant: Assistant }

let gpu: Gpu | undefined;
let model: Loaded | undefined;
let loading: Promise<Loaded> | undefined;
let mediaFile: File | undefined;
let shown: Shown | undefined;
let busy = false;

function setState(state: 'ready' | 'busy' | 'done' | 'error' | 'unsupported'): void {
  document.body.dataset['state'] = state;
}

/** Errors in plain words: ours carry their message; the rest get their name. */
function describe(e: unknown): string {
  if (e instanceof LlavaStError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function showError(message: string): void {
  $('error').textContent = message;
  setState('error');
}

function progress(label: string, done?: number, total?: number): void {
  $('progress').hidden = false;
  $('stage-label').textContent = label;
  const bar = $<HTMLProgressElement>('bar');
  if (done === undefined || !total) bar.removeAttribute('value');
  else { bar.max = total; bar.value = done; }
}

// ---- the model ------------------------------------------------------------------------------

function modelChoice(): { key: string; open: () => ModelSource } {
  const kind = (document.querySelector('input[name="model-kind"]:checked') as HTMLInputElement).value;
  if (kind === 'url') {
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (!url) throw new LlavaStError('E_INPUT', 'Type the model folder\'s URL, or pick another model.');
    return { key: `url:${url}`, open: () => new HttpSource(url, location.href) };
  }
  if (kind === 'folder') {
    const files = $<HTMLInputElement>('model-folder').files;
    if (!files || files.length === 0) throw new LlavaStError('E_INPUT', 'Pick the model folder (config.json, *.safetensors, tokenizer files).');
    return { key: `folder:${[...files].map((f) => `${f.name}:${f.size}:${f.lastModified}`).join('|')}`, open: () => new BlobSource(files, `folder ${files[0]!.webkitRelativePath.split('/')[0] ?? ''}`) };
  }
  return { key: 'served', open: () => new HttpSource('model/', location.href) };
}

/**
 * The weight format to load with, from the memory plan (model/plan.ts: headers only, no weight
 * bytes), so a checkpoint too big for this adapter fails here with the reason, before a download.
 * `?weights=f32|f16|q8|q4` asks for one. WebGPU does not show a GPU's memory: the page takes
 * navigator.deviceMemory (the RAM, which browsers round down and cap at 8 GiB: a lower bound that is
 * right for software and integrated adapters), and `?memory=GB` states a discrete GPU's.
 */
async function planLayout(g: Gpu, source: ModelSource, compute: ComputeDType): Promise<WeightLayout> {
  const params = new URLSearchParams(location.search);
  const want = params.get('weights') ?? 'auto';
  if (want !== 'auto' && !(WEIGHT_FORMATS as readonly string[]).includes(want)) {
    throw new LlavaStError('E_INPUT', `?weights=${want}: expected auto, ${WEIGHT_FORMATS.join(', ')}`);
  }
  const memoryGB = params.get('memory') !== null ? Number(params.get('memory')) : undefined;
  if (memoryGB !== undefined && !(memoryGB > 0)) throw new LlavaStError('E_INPUT', `?memory=${params.get('memory')}: expected a positive number of GiB`);
  const deviceGB = (navigator as { deviceMemory?: number }).deviceMemory;
  const facts = adapterFacts(g, memoryGB !== undefined ? { bytes: memoryGB * 2 ** 30, source: '?memory=' }
    : deviceGB ? { bytes: deviceGB * 2 ** 30, source: 'navigator.deviceMemory (pass ?memory=GB for a GPU\'s own)' } : undefined);
  const plan = makePlan(await readCheckpointFacts(source), facts, { compute, group: DEFAULT_GROUP_SIZE });
  return chooseLayout(plan, want as WeightFormat | 'auto');
}

async function ensureModel(g: Gpu): Promise<Loaded> {
  const choice = modelChoice();
  if (model?.key === choice.key) return model;
  if (loading) return loading;
  loading = (async () => {
    if (model) { model.assistant.dispose(); await model.source.close(); model = undefined; }
    const source = choice.open();
    const t0 = performance.now();
    let n = 0;
    progress(`loading the model from ${source.label}…`);
    try {
      if (await source.size('config.json') === undefined) {
        throw new LlavaStError('E_MODEL', `${source.where('config.json')} does not exist: this is not a LLaVA-ST checkpoint folder (config.json, *.safetensors, tokenizer files)`);
      }
      // The kernel policy's measurements, cached in IndexedDB per adapter (tuned on the first visit
      // only; ?tune=off keeps the adapter class's defaults).
      const tuneMode = new URLSearchParams(location.search).get('tune') === 'off' ? 'off' : 'auto';
      const policy = await loadPolicy(g, { mode: tuneMode, log: (s) => progress(`kernels: ${s}`) });
      const layout = await planLayout(g, source, policy.dtype);
      const assistant = await Assistant.load(g, source, { dtype: layout.compute, weights: { format: layout.format, group: layout.group }, onProgress: () => progress(`loading weights (${++n} tensors)…`) });
      const bytes = [...assistant.model.weights.checkpoint.entries.values()].reduce((n, e) => n + e.byteLength, 0);
      const s = (performance.now() - t0) / 1000;
      const format = layout.format.startsWith('q') ? `${layout.format} (groups of ${layout.group})` : layout.format;
      $('model-status').textContent = `${source.label}: ${(bytes / 1e6).toFixed(1)} MB of weights in ${s.toFixed(1)} s (${(bytes / 1e6 / s).toFixed(0)} MB/s), stored ${format}, compute ${layout.compute}`;
      model = { key: choice.key, source, assistant };
      return model;
    } catch (e) {
      await source.close();
      throw new LlavaStError('E_MODEL', `The model could not be loaded from ${source.label}:\n${describe(e)}`);
    }
  })();
  try { return await loading; } finally { loading = undefined; }
}

// ---- the question ---------------------------------------------------------------------------

function numbers(id: string, n: number, what: string): number[] {
  const text = $<HTMLInputElement>(id).value.trim();
  const v = text.split(',').map((x) => Number(x.trim()));
  if (!text || v.length !== n || v.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
    throw new LlavaStError('E_INPUT', `The ${what} needs ${n} number${n > 1 ? 's' : ''} between 0 and 1 separated by commas${id === 'box' ? ' (or drag on the picture)' : ' (or drag on the timeline)'}.`);
  }
  return v;
}

function text(id: string, what: string): string {
  const t = $<HTMLInputElement>(id).value;
  if (!t.trim()) throw new LlavaStError('E_INPUT', `Type ${what}.`);
  return t;
}

function request(task: Task): TaskRequest {
  switch (task) {
    case 'rec': return { task, ref: text('query', 'what to find') };
    case 'reg': return { task, box: numbers('box', 4, 'box') as [number, number, number, number] };
    case 'tvg': return { task, caption: text('query', 'what happens') };
    case 'tr': return { task, span: numbers('span', 2, 'span') as [number, number] };
    case 'stvg': return { task, event: text('query', 'the event or object') };
    case 'svg': return { task, span: numbers('span', 2, 'span') as [number, number], query: text('query', 'the question') };
    case 'elc': return { task, start: numbers('span', 1, 'start time')[0]!, box: numbers('box', 4, 'box') as [number, number, number, number] };
    case 'dgc': return { task };
  }
}

function mediaKind(f: File): 'image' | 'video' {
  return /^image\//.test(f.type) || /\.(png|jpe?g)$/i.test(f.name) ? 'image' : 'video';
}

async function ask(): Promise<void> {
  if (busy) return;
  busy = true;
  $<HTMLButtonElement>('ask').disabled = true;
  for (const id of ['error', 'answer', 'summary', 'problems', 'result']) $(id).textContent = '';
  $('download').hidden = true;
  setState('busy');
  try {
    if (!gpu) throw new LlavaStError('E_DEVICE', $('adapter').textContent ?? 'No WebGPU.');
    const choice = $<HTMLSelectElement>('task').value as Task | 'prompt';
    const task = choice === 'prompt' ? undefined : choice;
    const question = task ? taskQuestion(request(task)) : text('query', 'a question');
    const file = mediaFile;
    if (task && TASK_MODALITY[task] !== (file ? mediaKind(file) : 'none')) {
      throw new LlavaStError('E_INPUT', `${task.toUpperCase()} works on ${TASK_MODALITY[task] === 'video' ? 'a video' : 'an image'}: drop one first.`);
    }
    const loaded = await ensureModel(gpu);
    const media: MediaInput | undefined = file ? { kind: mediaKind(file), path: file.name, file } : undefined;
    const t0 = performance.now();
    const r = await loaded.assistant.ask({
      question, ...(media ? { media } : {}), ...(task && STRICT.has(task) ? { task: task as AnswerTask } : {}),
      onText: (d) => { $('answer').textContent += d; },
      onProgress: (stage, done, total) => {
        if (stage === 'frames') progress(`decoding video frames ${done}/${total}`, done, total);
        else if (stage === 'prefill' && done === 0) progress('vision encoder and prompt (prefill)…');
        else if (stage === 'generate') progress(`generating token ${done}`);
      },
    });
    showAnswer(r, task, loaded, performance.now() - t0);
    setState('done');
  } catch (e) {
    showError(describe(e));
  } finally {
    $('progress').hidden = true;
    busy = false;
    $<HTMLButtonElement>('ask').disabled = false;
  }
}

function showAnswer(r: AnswerResult, task: Task | undefined, loaded: Loaded, ms: number): void {
  $('answer').textContent = r.text;
  for (const p of r.grounding.problems) {
    const li = document.createElement('li');
    li.textContent = `${PROBLEM_WORDS[p.kind]} (${p.kind} at character ${p.at}: ${p.message})`;
    $('problems').append(li);
  }
  const t = r.timings;
  $('summary').textContent = `${r.grounding.spans.length} span(s), ${r.grounding.boxes.length} box(es); media ${t.mediaMs.toFixed(0)} ms, ` +
    `vision + prefill ${t.prefillMs.toFixed(0)} ms (${r.promptTokens} tokens), decode ${t.decodeMs.toFixed(0)} ms; ${(ms / 1000).toFixed(2)} s in all`;
  const json = JSON.stringify(answerRecord(r, { task, model: loaded.source.label, dtype: loaded.assistant.model.dtype }), null, 2);
  $('result').textContent = json;
  const a = $<HTMLAnchorElement>('download');
  if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  a.hidden = false;
  if (shown) drawAnswer(shown, r);
}

// ---- media and form -------------------------------------------------------------------------

async function setMedia(f: File | undefined): Promise<void> {
  mediaFile = f;
  $('error').textContent = '';
  if (!f) return;
  try {
    shown = await showMedia(f, mediaKind(f), {
      onBox: (b) => { $<HTMLInputElement>('box').value = b.map((x) => x.toFixed(3)).join(','); },
      onSpan: (s) => { $<HTMLInputElement>('span').value = s.map((x) => x.toFixed(3)).join(','); },
    });
  } catch (e) {
    // The browser cannot show it; the model's own decoder may still read it, and says so at Ask.
    shown = undefined;
    $('summary').textContent = `(cannot preview ${f.name}: ${describe(e)})`;
  }
}

function updateForm(): void {
  const n = NEEDS[$<HTMLSelectElement>('task').value as Task | 'prompt'];
  $('query-row').hidden = n.query === undefined;
  $<HTMLInputElement>('query').placeholder = n.query ?? '';
  $('box-row').hidden = !n.box;
  $('span-row').hidden = n.span === undefined;
  $('span-row').firstChild!.textContent = n.span === 'one' ? 'start time ' : 'span s,e ';
  $('task-help').textContent = n.help;
}

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const url = params.get('model');
  if (url) {
    $<HTMLInputElement>('model-url').value = url;
    (document.querySelector('input[name="model-kind"][value="url"]') as HTMLInputElement).checked = true;
  }
  $('task').addEventListener('change', updateForm);
  updateForm();
  $('ask').addEventListener('click', () => { void ask(); });
  $<HTMLInputElement>('media').addEventListener('change', (e) => { void setMedia((e.target as HTMLInputElement).files?.[0]); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void setMedia(e.dataTransfer?.files[0]);
  });

  if (!('gpu' in navigator) || !navigator.gpu) {
    $('adapter').textContent = 'This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Firefox; on Linux Chrome may need --enable-unsafe-webgpu.';
    showError($('adapter').textContent!);
    setState('unsupported');
    return;
  }
  try {
    gpu = await requestGpu();
  } catch (e) {
    $('adapter').textContent = `WebGPU is present but gave no usable device: ${describe(e)}`;
    showError($('adapter').textContent!);
    setState('unsupported');
    return;
  }
  const a = gpu.adapter;
  $('adapter').textContent = `WebGPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')}; ` +
    `largest buffer binding ${(gpu.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB${gpu.hasF16 ? ', f16' : ''}`;
  gpu.device.lost.then((info) => showError(`The GPU device was lost (${info.message || info.reason}). Reload the page.`), () => undefined);
  setState('ready');
}

/**
 * For scripts and tests: the live GPU bytes (a leak shows as growth between questions), and the
 * chosen video's sampled model input as this page decodes it (SHA-256 of the [n, 3, S, S] float32
 * frames), to compare with the Node path's.
 */
(window as unknown as { llavaSt: unknown }).llavaSt = {
  liveBytes: (): number | undefined => gpu?.tensors.liveBytes,
  weightBytes: (): number | undefined => model?.assistant.model.weights.bytes,
  sync: async (): Promise<void> => { await gpu?.sync(); },
  sampleFrames: async (size: number, n: number) => {
    if (!mediaFile) throw new Error('no media chosen');
    const { sampleVideoWebCodecs } = await import('../io/video_webcodecs.js');
    const v = await sampleVideoWebCodecs(mediaFile, mediaFile.name, { size, n });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(v.frames.buffer as ArrayBuffer)));
    return { sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''), frameIndices: v.frameIndices,
      frameCount: v.frameCount, fps: v.fps, width: v.width, height: v.height, rotation: v.rotation, ...(v.frameTimes ? { frameTimes: v.frameTimes } : {}) };
  },
};

void start().catch((e: unknown) => showError(`The page failed to start: ${describe(e)}`));
