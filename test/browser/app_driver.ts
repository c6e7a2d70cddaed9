// Drives the page of `llava-st serve` in headless Chromium through its hooks: shared by the page
// test and the README screenshot. Manual run (after npm run build):
//   node dist/test/browser/app_driver.js OUT.png [sample name]   (default demo2_stvg)
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serve, type Serving } from '../../src/cli/serve.js';
import { DEFAULT_MODEL } from '../../src/cli/run.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';

export interface Sample { name: string; task: string; media: string; modality: string; question: string; object: string; reference_answer_ids: number[] }
export const SAMPLES = join(DEFAULT_MODEL, 'samples');
export const samples = (): Sample[] => JSON.parse(readFileSync(join(SAMPLES, 'samples.json'), 'utf8')) as Sample[];

export interface Answer { result?: Record<string, any>; error?: string; ms: number }

/** One question through the hooks; resolves when the page says done or error. */
export async function ask(page: Page, q: { media?: string; task: string; query?: string }): Promise<Answer> {
  const t0 = Date.now();
  if (q.media) await page.setInputFiles('#media', q.media);
  await page.selectOption('#task', q.task);
  if (q.query !== undefined) await page.fill('#query', q.query);
  await page.click('#ask');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), undefined, { timeout: 300_000 });
  const error = (await page.textContent('#error')) ?? '';
  const result = (await page.textContent('#result')) ?? '';
  return { ...(error ? { error } : {}), ...(result ? { result: JSON.parse(result) as Record<string, any> } : {}), ms: Date.now() - t0 };
}

export const liveBytes = (page: Page): Promise<number> =>
  page.evaluate(async () => { const h = (window as any).llavaSt; await h.sync(); return h.liveBytes() as number; });

export interface Session { server: Serving; browser: Browser; page: Page; console: string[]; serverLog: string[]; close(): Promise<void> }

/** `llava-st serve` on loopback (ephemeral port) and a headless Chromium page on it, WebGPU ready or not. */
export async function openPage(): Promise<Session> {
  const serverLog: string[] = [];
  const server = await serve({ model: DEFAULT_MODEL, port: 0, host: '127.0.0.1', log: (l) => serverLog.push(l) });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS.filter((f) => f !== '--headless') });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const lines: string[] = [];
    page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
    // The policy's defaults, as in every test (scripts/test.mjs sets LLAVA_ST_TUNE=off): a fresh
    // browser profile would otherwise tune on SwiftShader on every run.
    await page.goto(`${server.url}?tune=off`);
    await page.waitForFunction(() => document.body.dataset['state'] !== 'starting', undefined, { timeout: 30_000 });
    const b = browser;
    return { server, browser: b, page, console: lines, serverLog, close: async () => { await b.close(); await server.close(); } };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

/**
 * The same questions (sample questions as free prompts) in the page and in Node on this machine, one
 * after the other: wall time per question from Ask to the complete answer, and the ratio.
 */
async function compare(names: string[]): Promise<void> {
  const { requestGpu } = await import('../../src/core/device.js');
  const { Assistant } = await import('../../src/tasks/assistant.js');
  const session = await openPage();
  const page: Record<string, number> = {};
  try {
    for (const n of names) {
      const s = samples().find((x) => x.name === n)!;
      await ask(session.page, { media: join(SAMPLES, s.media), task: 'prompt', query: s.question }); // warm: model load, pipelines
      const a = await ask(session.page, { media: join(SAMPLES, s.media), task: 'prompt', query: s.question });
      if (a.error) throw new Error(a.error);
      page[n] = a.ms;
    }
  } finally {
    await session.close();
  }
  const gpu = await requestGpu();
  try {
    const assistant = await Assistant.load(gpu, DEFAULT_MODEL, { dtype: 'f32' });
    for (const n of names) {
      const s = samples().find((x) => x.name === n)!;
      const q = { media: { kind: s.modality as 'video', path: join(SAMPLES, s.media) }, question: s.question };
      await assistant.ask(q);
      const t0 = performance.now();
      await assistant.ask(q);
      const node = performance.now() - t0;
      console.log(`${n}: page ${(page[n]! / 1000).toFixed(2)} s, Node ${(node / 1000).toFixed(2)} s, page/Node ${(page[n]! / node).toFixed(2)}`);
    }
    assistant.dispose();
  } finally {
    gpu.destroy();
  }
}

// Manual run: a screenshot of the page after one sample's answer (the README's picture), or
// --compare NAME...: time per question in the page and in Node.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--compare') { await compare(process.argv.slice(3)); process.exit(0); }
  const out = process.argv[2] ?? 'page.png';
  const s = samples().find((x) => x.name === (process.argv[3] ?? 'demo2_stvg'))!;
  const session = await openPage();
  try {
    const a = await ask(session.page, { media: join(SAMPLES, s.media), task: 'prompt', query: s.question });
    if (a.error) throw new Error(a.error);
    // Paused on the frame of the first box, so the picture shows one.
    const boxes = (a.result!['grounding'].boxes as { time?: { seconds?: number } }[]).filter((b) => b.time?.seconds !== undefined);
    const at = boxes.length ? boxes[0]!.time!.seconds! + 0.01 : 0;
    await session.page.evaluate((t) => { const v = document.getElementById('video') as HTMLVideoElement; v.pause(); v.currentTime = t; }, at);
    await new Promise((r) => setTimeout(r, 500));
    await session.page.screenshot({ path: out });
    console.log(`${out}: ${s.name} answered in ${a.ms} ms`);
  } finally {
    await session.close();
  }
}
