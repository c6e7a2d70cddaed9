import * as L from '/work/main/dist/src/index.js';
const gpu = await L.requestGpu();
const x = L.Tensor.fromArray(gpu, L.toF16(new Float32Array(64 * 1024).fill(1)), [64, 1024], 'f16');
const w = L.Tensor.fromArray(gpu, L.toF16(new Float32Array(1024).fill(1)), [1024], 'f16');
const y = L.rmsNorm(x, w, 1e-6); await y.toArray(); process.exit(0);
