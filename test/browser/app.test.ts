// The page served by `llava-st serve`, driven through its hooks (#media, #task, #query, #ask,
// #result, #error) in headless Chromium with Playwright: every demo sample answers with the
// reference model's ids, an image answer's box is drawn exactly where #result says, ten questions
// leave the GPU's live bytes where they were, and bad input (a broken video, a URL that holds no
// checkpoint) shows an error after which the next question still works.
// Skips only when /usr/bin/chromium is missing (scripts/setup.sh installs it on Debian).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { WEB_ROOT } from '../../src/cli/serve.js';
import { decodeImageBytes } from '../../src/io/image.js';
import { sampleVideo } from '../../src/io/video.js';
import { createHash } from 'node:crypto';
import { outlinePixels, BOX_RGB } from '../../src/web/view.js';
import { CHROMIUM } from './chromium.js';
import { SAMPLES, ask, liveBytes, openPage, samples } from './app_driver.js';

// Every sample by default (about 1 min per video question on SwiftShader); LLAVA_ST_BROWSER_QUICK=1
// keeps the images and one video, for work on the page.
const ALL = process.env.LLAVA_ST_BROWSER_QUICK !== '1';
/** The demo model's frame size and count (config: image_size 110, 100 frames). */
const SIZE = 110, FRAMES = 100;

test('the page: samples, drawing, memory and errors in headless Chromium', { timeout: 900_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) { t.skip(`${CHROMIUM} is missing (Debian: apt-get install -y chromium)`); return; }
  assert.ok(existsSync(join(WEB_ROOT, 'index.html')), `${WEB_ROOT}/index.html is missing: run npm run build`);
  const session = await openPage();
  const tmp = mkdtempSync(join(tmpdir(), 'llava-st-page-'));
  const { server, page, console: consoleLines, serverLog: log } = session;
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const state = await page.evaluate(() => document.body.dataset['state']);
    assert.equal(state, 'ready', `the page did not get a GPU: ${await page.textContent('#adapter')}\n${consoleLines.join('\n')}`);
    t.diagnostic(`adapter: ${await page.textContent('#adapter')}`);
    // LLAVA_ST_BROWSER_ONLY=word runs only the parts whose name has that word (for work on one part).
    const only = process.env.LLAVA_ST_BROWSER_ONLY;
    const part = (name: string, fn: () => Promise<void>): Promise<void> =>
      (only && !name.includes(only) ? t.test(name, { skip: `LLAVA_ST_BROWSER_ONLY=${only}` }, () => undefined) : t.test(name, fn)).then(() => undefined);
    const where = (): string => `\nconsole:\n${consoleLines.slice(-20).join('\n')}\nserver:\n${log.slice(-10).join('\n')}`;

    await part('every demo video decodes (WebCodecs + yuv420ToRgb24) to the model input the Node path gets', async () => {
      for (const s of samples().filter((x) => x.modality === 'video')) {
        const path = join(SAMPLES, s.media);
        await page.setInputFiles('#media', path);
        const got = await page.evaluate(([S, n]) => (window as any).llavaSt.sampleFrames(S, n), [SIZE, FRAMES] as const);
        const want = await sampleVideo(path, { size: SIZE, n: FRAMES });
        const { frames, ...wantInfo } = want;
        assert.deepEqual(got, { sha256: createHash('sha256').update(new Uint8Array(frames.buffer)).digest('hex'), ...wantInfo }, s.name);
      }
    });

    await part(`demo samples answer with the reference ids (${ALL ? 'all' : 'the images and one video: LLAVA_ST_BROWSER_QUICK=1'})`, async () => {
      let base: number | undefined;
      for (const s of samples().filter((x, _i, all) => ALL || x.modality === 'image' || x === all.find((y) => y.modality === 'video'))) {
        const a = await ask(page, { media: join(SAMPLES, s.media), task: 'prompt', query: s.question });
        assert.equal(a.error, undefined, `${s.name}: ${a.error}${where()}`);
        assert.deepEqual(a.result!['ids'], s.reference_answer_ids, `${s.name}: answer ids`);
        assert.equal(a.result!['media'].path, s.media);
        base ??= await liveBytes(page);
        assert.equal(await liveBytes(page), base, `${s.name}: live GPU bytes after the question`);
        t.diagnostic(`${s.name}: ${a.ms} ms in the page, ${JSON.stringify(a.result!['timings'])}`);
      }
    });

    await part('an image answer\'s box outline is drawn exactly where #result says', async () => {
      const s = samples().find((x) => x.modality === 'image')!;
      const a = await ask(page, { media: join(SAMPLES, s.media), task: 'rec', query: 'the red square' });
      assert.equal(a.error, undefined, a.error);
      const box = a.result!['grounding'].boxes[0];
      assert.ok(box, 'the answer has a box');
      const img = decodeImageBytes(readFileSync(join(SAMPLES, s.media)), s.media);
      // The overlay's box on the page, pixel-snapped as Chromium paints it (text above can leave it at y = n.5).
      const bb = (await page.locator('#overlay').boundingBox())!;
      const clip = { x: Math.round(bb.x), y: Math.round(bb.y), width: Math.round(bb.width), height: Math.round(bb.height) };
      const shot = PNG.sync.read(await page.screenshot({ clip, path: join(tmp, 'stage.png') }));
      const scale = shot.width / img.width;
      assert.ok(Number.isInteger(scale) && scale >= 1 && shot.height === img.height * scale, `stage ${shot.width}×${shot.height} for ${img.width}×${img.height}`);
      const o = outlinePixels(box.pixels, img.width, img.height);
      let outline = 0;
      for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
        const at = ((y * scale + (scale >> 1)) * shot.width + x * scale + (scale >> 1)) * 4;
        const got = [shot.data[at]!, shot.data[at + 1]!, shot.data[at + 2]!];
        const onEdge = ((x === o.left || x === o.right) && y >= o.top && y <= o.bottom) || ((y === o.top || y === o.bottom) && x >= o.left && x <= o.right);
        const want = onEdge ? [...BOX_RGB] : [img.data[(y * img.width + x) * 3]!, img.data[(y * img.width + x) * 3 + 1]!, img.data[(y * img.width + x) * 3 + 2]!];
        assert.deepEqual(got, want, `pixel (${x}, ${y}) of the screenshot; box ${JSON.stringify(box.pixels)} -> outline ${JSON.stringify(o)}`);
        if (onEdge) outline++;
      }
      assert.ok(outline >= 4, 'the outline has pixels');
    });

    await part('ten questions in a row: live GPU bytes return to the baseline after each', async () => {
      await page.setInputFiles('#media', []); // text-only questions: the samples above checked media ones
      const base = await liveBytes(page);
      for (let i = 0; i < 10; i++) {
        const a = await ask(page, { task: 'prompt', query: `Question ${i + 1}: what is a circle?` });
        assert.equal(a.error, undefined, a.error);
        assert.equal(await liveBytes(page), base, `live bytes after question ${i + 1}`);
      }
    });

    await part('a broken video and a URL without a checkpoint show errors; the next question works', async () => {
      const bad = join(tmp, 'broken.mp4');
      writeFileSync(bad, Buffer.from('this is not a video at all, just text in a file named .mp4'));
      const a = await ask(page, { media: bad, task: 'prompt', query: 'What happens?' });
      assert.equal(a.result, undefined);
      assert.match(a.error ?? '', /broken\.mp4/, 'the error names the file');
      const image = samples().find((x) => x.modality === 'image')!;
      const ok1 = await ask(page, { media: join(SAMPLES, image.media), task: 'prompt', query: image.question });
      assert.deepEqual(ok1.result?.['ids'], image.reference_answer_ids, ok1.error);

      await page.check('input[name="model-kind"][value="url"]');
      await page.fill('#model-url', `${server.url}assets/`);
      const b = await ask(page, { task: 'prompt', query: image.question });
      assert.equal(b.result, undefined);
      assert.match(b.error ?? '', /could not be loaded[\s\S]*assets\/config\.json does not exist: this is not a LLaVA-ST checkpoint/, b.error);
      await page.check('input[name="model-kind"][value="served"]');
      const ok2 = await ask(page, { task: 'prompt', query: image.question });
      assert.deepEqual(ok2.result?.['ids'], image.reference_answer_ids, ok2.error);
    });

    await part('the memory plan picks the weights: too little memory is an error before loading, ?weights=q8 loads 8-bit', async () => {
      const image = samples().find((x) => x.modality === 'image')!;
      const reopen = async (query: string): Promise<void> => {
        await page.goto(`${server.url}?tune=off${query ? `&${query}` : ''}`);
        await page.waitForFunction(() => document.body.dataset['state'] !== 'starting', undefined, { timeout: 30_000 });
      };
      await reopen('memory=0.001');
      const tight = await ask(page, { media: join(SAMPLES, image.media), task: 'prompt', query: image.question });
      assert.equal(tight.result, undefined);
      assert.match(tight.error ?? '', /no weight format fits this adapter[\s\S]*budget/, tight.error);
      assert.equal(await page.evaluate(() => (window as any).llavaSt.weightBytes()), undefined, 'no model was loaded');

      // q8 keeps f16 scales: without shader-f16 (Chromium's SwiftShader here) the plan says so.
      await reopen('weights=q8');
      const q8 = await ask(page, { media: join(SAMPLES, image.media), task: 'prompt', query: image.question });
      if (/, f16$/.test(await page.textContent('#adapter') ?? '')) {
        assert.equal(q8.error, undefined, q8.error);
        assert.match(await page.textContent('#model-status') ?? '', /stored q8 \(groups of 32\)/);
      } else {
        assert.match(q8.error ?? '', /q8: needs shader-f16/, q8.error);
      }
      await reopen('weights=q5');
      const bad = await ask(page, { task: 'prompt', query: 'hello' });
      assert.match(bad.error ?? '', /\?weights=q5: expected auto, f32, f16, q8, q4/, bad.error);
      await reopen('');
    });
  } finally {
    await session.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
