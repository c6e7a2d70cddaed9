// Ask the demo model a question about a video, then look inside the Spatial-Temporal Packer:
// its two taps (spatial: every frame 27×27 -> 9×9 tokens; slow: 5 frames -> 1) come back with
// the answer, as plain Float32Arrays with their shapes.
//
//   node dist/examples/video_taps.js [MODEL_DIR] [VIDEO]
import { Assistant, requestGpu, TAP_NAMES, type TapName } from 'llava-st-webgpu';

const modelDir = process.argv[2] ?? 'models/llava-st-synth';
const video = process.argv[3] ?? `${modelDir}/samples/demo2_stvg.mp4`;

const taps: TapName[] = ['packer.spatial', 'packer.slow'];
const gpu = await requestGpu();
const assistant = await Assistant.load(gpu, modelDir);
try {
  const answer = await assistant.ask({
    media: { kind: 'video', path: video },
    question: 'When and where does the blue circle appear in the video? Please firstly give the timestamps, '
      + 'and then give the spatial bounding box corresponding to each timestamp in the time period.',
    task: 'stvg', // checks the answer's shape: a span, then a box per timestamp
    taps,
    maxNewTokens: 64,
  });
  console.log(`Q: ${answer.question}`);
  console.log(`A: ${answer.text}`);
  for (const s of answer.grounding.spans) console.log(`span: ${s.start.seconds?.toFixed(2)} s .. ${s.end.seconds?.toFixed(2)} s`);
  for (const b of answer.grounding.boxes) console.log(`box at ${b.time?.seconds?.toFixed(2)} s: [${b.pixels.map((v) => v.toFixed(0)).join(', ')}] px`);
  for (const name of taps) {
    const tap = answer.taps![name]!;
    const info = TAP_NAMES.find((t) => t.name === name)!;
    let sum = 0, sq = 0;
    for (const v of tap.data) { sum += v; sq += v * v; }
    const mean = sum / tap.data.length, std = Math.sqrt(sq / tap.data.length - mean * mean);
    console.log(`${name} [${tap.shape.join(', ')}] (${info.shape}: ${info.what}) mean ${mean.toFixed(4)} std ${std.toFixed(4)}`);
  }
} finally {
  assistant.dispose();
  gpu.destroy();
}
