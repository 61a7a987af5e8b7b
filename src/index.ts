// dynaprune's main entry: training, dynamic layers, algorithms, models, the container codec. Named exports only,
// no side effects on import, and nothing that needs Node (file loaders live in `dynaprune/node`).
export * from './errors.js';
export { Random, type RandomState } from './util/random.js';

// Engine: backend choice and the wasm training kernels.
export {
  backendRequests,
  initBackend,
  parseBackendRequest,
  type BackendChoice,
  type BackendKind,
  type BackendRequest,
  type InitBackendOptions,
} from './engine/backend.js';
export {
  registerTrainingKernels,
  trainingKernelSets,
  unregisterTrainingKernels,
  type TrainingKernelReport,
  type TrainingKernelSet,
} from './engine/training-kernels.js';
export type { TrainingWasmOptions } from './engine/training-wasm.js';

// Dynamic layers and sparsification.
export * from './layers/index.js';
export {
  allocate,
  distributionNames,
  erkDistribution,
  uniformDistribution,
  type Allocation,
  type DistributionName,
  type LayerShape,
} from './sparsity/distributions.js';
export { sparsify, type SparsifyOptions, type SparsifyResult } from './sparsity/sparsify.js';
export { stripMasks } from './sparsity/strip-masks.js';

// Sparse-training algorithms.
export * from './algorithms/index.js';

// Models.
export { getModel, isModelName, modelNames, type ModelSpec } from './models/registry.js';
export type { ModelBuildOptions } from './models/types.js';

// Training.
export {
  evaluate,
  learningRateAt,
  learningRateSchedules,
  train,
  type BatchProgress,
  type EpochMetrics,
  type LearningRateSchedule,
  type TrainCallbacks,
  type TrainOptions,
  type TrainResult,
} from './train/trainer.js';
export type {
  LayerSparsity,
  SparsityRecord,
  StepEndInfo,
  TrainBeginInfo,
  TrainingHook,
} from './train/hooks.js';
export { countCorrect, sparseCategoricalCrossentropy } from './train/loss.js';

// Data that needs no file system: batches and augmentation.
export { Augmenter, type AugmentOptions } from './data/augment.js';
export { epochBatches, epochOrder, makeBatch, type Batch } from './data/batch.js';
export type { DataProgress, DataSource, Dataset, ImageShape, ImageSplit } from './data/types.js';

// The CSR container and conversion from and to tfjs.
export * from './graph/index.js';
export * from './format/index.js';
export * from './convert/index.js';
