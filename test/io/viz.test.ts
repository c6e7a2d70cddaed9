import assert from 'node:assert/strict';
import { test } from 'node:test';
import pngjs from 'pngjs';
import { drawBox, renderPng, renderGif, type RgbImage } from '../../src/io/viz.js';

const grey = (w: number, h: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(128) });

test('drawBox outlines exactly the box edges', () => {
  const img = grey(20, 10);
  drawBox(img, [0.25, 0.2, 0.75, 0.8], [255, 0, 0], 1); // x 5..15, y 2..8
  const px = (x: number, y: number) => Array.from(img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
  assert.deepEqual(px(5, 2), [255, 0, 0]);
  assert.deepEqual(px(14, 7), [255, 0, 0]);
  assert.deepEqual(px(10, 5), [128, 128, 128]); // inside stays
  assert.deepEqual(px(4, 2), [128, 128, 128]); // outside stays
  // Exactly the 1-pixel outline of x 5..14, y 2..7 is red.
  for (let y = 0; y < 10; y++) {
    for (let x = 0; x < 20; x++) {
      const onOutline = x >= 5 && x <= 14 && y >= 2 && y <= 7 && (x === 5 || x === 14 || y === 2 || y === 7);
      assert.deepEqual(px(x, y), onOutline ? [255, 0, 0] : [128, 128, 128], `pixel ${x},${y}`);
    }
  }
});

test('renderPng writes a decodable PNG; a contact sheet tiles the frames', () => {
  const one = pngjs.PNG.sync.read(Buffer.from(renderPng([{ image: grey(160, 120), t: 0, boxes: [[0.1, 0.1, 0.5, 0.5]] }])));
  assert.equal(one.width, 320); // upscaled ×2 for readability
  const frames = Array.from({ length: 7 }, (_, i) => ({ image: grey(160, 120), t: i / 6, boxes: [] }));
  const sheet = pngjs.PNG.sync.read(Buffer.from(renderPng(frames, [0.2, 0.6], 5)));
  assert.equal(sheet.width, 5 * 320 + 4 * 4);
  // 2 rows of tiles 240 px high plus a 15 px timeline (max(8, 240/16)), 4 px apart.
  assert.equal(sheet.height, 2 * (240 + 15) + 4);
});

/** Counts the image descriptors of a GIF by walking its blocks (header, colour tables, extensions). */
function gifImageCount(gif: Uint8Array): number {
  const colorTable = (flags: number) => (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  let i = 13 + colorTable(gif[10]!);
  const skipSubBlocks = () => { while (gif[i] !== 0) i += gif[i]! + 1; i++; };
  let images = 0;
  for (;;) {
    const b = gif[i];
    if (b === 0x3b) return images;                     // trailer
    if (b === 0x21) { i += 2; skipSubBlocks(); continue; } // extension: label, then sub-blocks
    assert.equal(b, 0x2c, `GIF block at byte ${i} is 0x${b?.toString(16)}`);
    images++;
    i += 10 + colorTable(gif[i + 9]!);
    i++;                                                 // LZW minimum code size
    skipSubBlocks();
  }
}

test('renderGif writes a GIF89a with one image per frame', () => {
  const frames = Array.from({ length: 3 }, (_, i) => ({ image: grey(40, 30), t: i / 2, boxes: [[0, 0, 1, 1]] as [number, number, number, number][] }));
  const gif = renderGif(frames, [0, 0.5]);
  assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
  assert.equal(gifImageCount(gif), 3);
});
