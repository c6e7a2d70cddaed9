// Swap the Spatial-Temporal Packer for plain average pooling to the same token count and see how
// the answer changes. The replacement keeps the packer's tensor contract (model/stages.ts):
//   spatial  [B·N, D] -> [B·L, D]     the mean of each 3×3 block instead of point-to-region attention
//   temporal [T·L, D] -> [T/k·L, D]   the mean of each window of k frames
// It is built from the packer's own region layouts and three public ops (gather, add, mul).
//
//   node dist/examples/average_packer.js [MODEL_DIR] [VIDEO]
import {
  Assistant, add, gatherRows, mul, requestGpu, scope, spatialLayout, temporalLayout, Tensor, toF16,
  type AnswerResult, type Gpu, type PackerStage, type RegionLayout, type StageContext,
} from 'llava-st-webgpu';

/** x [rows, D] -> [queries, D]: each query's output is the mean of its region's rows. */
function regionMean(x: Tensor, layout: RegionLayout): Tensor {
  return scope(() => {
    const R = layout.size, Nq = layout.query.length;
    let sum: Tensor | undefined;
    for (let r = 0; r < R; r++) {
      const column = Uint32Array.from({ length: Nq }, (_, n) => layout.region[n * R + r]!);
      const rows = gatherRows(x, Tensor.fromArray(x.gpu, column, [Nq], 'u32', 'region column'));
      sum = sum ? add(sum, rows) : rows;
    }
    const inv = x.dtype === 'f16'
      ? Tensor.fromArray(x.gpu, toF16([1 / R]), [1], 'f16', '1/R')
      : Tensor.fromArray(x.gpu, Float32Array.of(1 / R), [1], 'f32', '1/R');
    return mul(sum!, inv);
  });
}

const averagePacker = ({ config }: StageContext): PackerStage => ({
  spatial: (x, frames) => regionMean(x, spatialLayout(config.vision.grid, config.packer.side, frames)),
  temporal: (y, frames) => regionMean(y, temporalLayout(frames, config.packer.latents, frames === 1 ? 1 : config.packer.temporalFactor)),
});

async function answer(gpu: Gpu, modelDir: string, video: string, stages = {}): Promise<AnswerResult> {
  const assistant = await Assistant.load(gpu, modelDir, { stages });
  try {
    return await assistant.ask({ media: { kind: 'video', path: video }, question: 'When does the blue circle appear in the video?', task: 'tvg', maxNewTokens: 24 });
  } finally {
    assistant.dispose();
  }
}

const modelDir = process.argv[2] ?? 'models/llava-st-synth';
const video = process.argv[3] ?? `${modelDir}/samples/demo1_tvg.mp4`;
const gpu = await requestGpu();
try {
  const packed = await answer(gpu, modelDir, video);
  const pooled = await answer(gpu, modelDir, video, { packer: averagePacker });
  const span = (r: AnswerResult) => r.grounding.spans.map((s) => `bins ${s.start.bin}..${s.end.bin}`).join(', ') || 'no span';
  console.log(`ST-Packer:       ${packed.text}   (${span(packed)})`);
  console.log(`average pooling: ${pooled.text}   (${span(pooled)})`);
  const same = packed.ids.filter((id, i) => id === pooled.ids[i]).length;
  console.log(packed.text === pooled.text
    ? 'the answer did not change'
    : `the answer changed: ${same} of ${packed.ids.length} answer tokens agree position by position`);
} finally {
  gpu.destroy();
}
