/**
 * llava-st-webgpu: LLaVA-ST on WebGPU, every compute step a hand-written WGSL kernel.
 *
 * One obvious way to do each thing:
 * - **Ask**: `requestGpu()`, `Assistant.load(gpu, dir)`, `assistant.ask({ media, question })` or
 *   `ask({ media, task: { task: 'stvg', event } })`: a typed {@link AnswerResult} with spans and boxes
 *   in bins, normalized values, frames, seconds and pixels.
 * - **Read activations**: `ask({ ..., taps: ['packer.slow', 'logits'] })`; every name and its shape
 *   is in {@link TAP_NAMES}.
 * - **Replace a stage**: `Assistant.load(gpu, dir, { stages: { packer: (ctx) => myPacker } })` with
 *   the same tensor contract ({@link PackerStage} and the others in model/stages), checked at load.
 * - **Lower level**: {@link LlavaSt} (`encodeMedia`, `forward`, `generate`), {@link buildPrompt},
 *   the coordinate codec (`encodeSpan`, `decodeAnswer`, `coordTokenId`, ...), tensors and ops.
 *
 * Importing this module registers the project's WGSL kernels and snippets ({@link registerKernelSources} and
 * {@link registerKernelSnippets} add yours).
 * @packageDocumentation
 */
import './wgsl/index.js';

// ---- device, tensors, ops (what a stage implementation is written with) ----------------------
export * from './core/errors.js';
export { requestGpu, Gpu, type GpuOptions, type Limits, type Backend, type AdapterDescription } from './core/device.js';
export { Tensor, numel, type Shape } from './core/tensor.js';
export { scope, scopeAsync, keep, type Disposable } from './core/registry.js';
export { type DType, type HostArray, toF16, fromF16 } from './core/dtype.js';
export { registerKernelSources, registerKernelSnippets, kernelSourceNames, type KernelSpec, type BufferBinding } from './core/kernel.js';
export { add, mul, sub } from './ops/elementwise.js';
export { linear, SplitWeight, type Weight } from './ops/linear.js';
export { layerNorm, rmsNorm } from './ops/norm.js';
export { gelu, siluMul } from './ops/activation.js';
export { rope } from './ops/rope.js';
export { attention, type AttentionOptions, type AttentionTuning } from './ops/attention.js';
export { regionAttention, type KeyGroup } from './ops/region_attention.js';
export { softmax } from './ops/softmax.js';
export { argmax } from './ops/argmax.js';
export { gatherRows } from './ops/gather.js';
export { copyRows, sliceRows, concatRows } from './ops/copy.js';

// ---- checkpoints ------------------------------------------------------------------------------
export { SafetensorsFile, type SafetensorsHeader, type TensorEntry, type SafetensorsDType } from './core/safetensors.js';
export { Checkpoint } from './core/checkpoint.js';
export type { WeightSource, WeightStore, ComputeDType } from './nn/weights.js';

// ---- the model, its stages and taps -----------------------------------------------------------
export {
  LlavaSt, type LoadOptions, type Prompt, type Media, type MediaKind, type GenerateOptions, type GenerateResult, type SamplingOptions,
} from './model/llava_st.js';
export { SPECIAL_TOKEN_NAMES, type LlavaStConfig, type TextConfig, type VisionConfig, type PackerConfig, type GenerationConfig, type SpecialTokenName } from './model/config.js';
export type { CoordinateTables } from './model/lape.js';
export type { LogitsMode } from './model/qwen2.js';
export {
  STAGE_NAMES, type StageName, type Stages, type StageFactories, type StageContext,
  type VisionStage, type ProjectorStage, type LapeStage, type PackerStage, type DecoderStage,
} from './model/stages.js';
export { spatialLayout, temporalLayout, type RegionLayout } from './model/packer.js';
export { Taps, type TapFilter } from './nn/taps.js';
export { TAP_NAMES, tapNamesOf, type TapName, type TapInfo } from './model/tap_names.js';

// ---- asking: prompts, tasks, answers ------------------------------------------------------------
export {
  Assistant, type AskOptions, type AnswerResult, type MediaInput, type LoadedMedia, type TapValue, type Timings, type ProgressFn,
} from './tasks/assistant.js';
export {
  taskQuestion, TASK_MODALITY, type Task, type TaskRequest, type TemplateChoice, type TimeSpan, type NormBox,
} from './tasks/task_prompts.js';
export {
  buildPrompt, buildConversationPrompt, emptyVariables, type BuiltPrompt, type PromptOptions, type ChatTurn, type Modality,
  type Role, type CoordinateSyntax, type MediaLayout, type Variables,
} from './tasks/prompt.js';
export type { VariableKey, PlaceholderMode } from './model/coordinate_vocab.js';
export type { Grounding, GroundedSpan, GroundedBox, GroundedTime, MediaGeometry } from './tasks/grounding.js';
export type { RGBImage } from './io/image.js';
export { Qwen2Tokenizer, type AddedTokenEntry, type TokenizerFiles } from './io/tokenizer.js';

// ---- the coordinate codec -------------------------------------------------------------------------
export {
  NUM_BINS, ANSWER_TASKS, binToValue, coordTokenId, coordTokenFromId, coordTokenString, coordinateVocabOf,
  encodeSpan, encodeBox, encodePairs, decodeSpan, decodeBox, decodePairs, decodeAnswer,
  binToFrame, spanToFrames, spanToSeconds, boxToPixels,
  type AnswerTask, type CoordinateKind, type CoordinateVocab, type CoordToken, type Span, type Box, type FramePair,
  type Decoded, type DecodedAnswer, type Problem, type ProblemKind,
} from './tasks/coordinates.js';

// ---- where model files come from (a folder path in Node, or one of these) ----------------------
export { SourceError, type ModelSource } from './core/source.js';
export { HttpSource } from './core/http_source.js';
export { BlobSource } from './core/blob_source.js';

// ---- which kernel runs, and how weights are stored ----------------------------------------------
export {
  policyFor, Policy, CANDIDATES, SHAPE_CLASSES, OP_NAMES, adapterClass,
  type OpName, type Candidate, type AdapterClass, type ChoiceSource, type TunedTable,
} from './ops/policy.js';
export { loadPolicy, tune, type TuneOptions } from './ops/tune.js';
export { warmUpKernels, type KernelWarmUp, type WarmUpOptions } from './ops/warmup.js';
export { WEIGHT_FORMATS, defaultLayout, type WeightFormat, type WeightLayout } from './nn/weight_format.js';
export { makePlan, chooseLayout, readCheckpointFacts, type Plan, type FormatFit, type AdapterFacts } from './model/plan.js';
