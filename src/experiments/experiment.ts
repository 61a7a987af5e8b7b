// One training run end to end: backend, data, model, training, run folder. What `dynaprune train` calls.
import type { LayersModel } from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getMethod, SparseTrainer, type MethodName, type MethodSpec } from '../algorithms/index.js';
import { StaticMask } from '../algorithms/static.js';
import { defaultThreads, initBackend, type BackendRequest } from '../engine/backend.js';
import {
  trainsSparseFromStart,
  xnnpackThreadsFor,
  type KernelMode,
} from '../engine/sparse-choice.js';
import type { DistributionName } from '../sparsity/distributions.js';
import { sparsify } from '../sparsity/sparsify.js';
import { loadDataset } from '../data/registry.js';
import { holdOutValidation } from '../data/split.js';
import type {
  DataSource,
  Dataset,
  DataProgress as DownloadProgress,
  ImageSplit,
} from '../data/types.js';
import { getModel } from '../models/registry.js';
import { describeMachine, describeSoftware } from './machine.js';
import { folderHandler, savedModelBytes } from '../train/model-files.js';
import { prepareRunFolder, RunFolder } from '../train/run-folder.js';
import { RunFolderError, TrainingStoppedError } from '../errors.js';
import {
  recalibrateAndValidate,
  recalibrationLine,
  type BatchNormRecalibration,
} from '../train/batch-norm-stats.js';
import type { SparsityRecord } from '../train/hooks.js';
import {
  evaluate,
  train,
  type EpochMetrics,
  type TrainOptions,
  type LearningRateSchedule,
  type OptimizerName,
  type TrainCallbacks,
  type TrainResult,
} from '../train/trainer.js';

/** The augmentations `--augment` offers. */
export type AugmentKind = 'none' | 'flip' | 'crop-flip';
export const augmentKinds: readonly AugmentKind[] = ['none', 'flip', 'crop-flip'];

/** The augmenter settings of each kind. */
export function augmentOptions(kind: Exclude<AugmentKind, 'none'>): {
  cropPadding: number;
  horizontalFlip: boolean;
} {
  return kind === 'flip'
    ? { cropPadding: 0, horizontalFlip: true }
    : { cropPadding: 4, horizontalFlip: true };
}

/** The number of trainable parameters (masks excluded). */
export function trainableParameters(model: LayersModel): number {
  return model.trainableWeights.reduce(
    (a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 1), 1),
    0,
  );
}

/** Everything that defines a run; written to config.json. */
export interface TrainingRunConfig {
  readonly model: string;
  readonly dataset: string;
  /** A local copy of the dataset; default: $DYNAPRUNE_DATA, the cache, or a download. */
  readonly dataDir?: string;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Use only the first N training images. */
  readonly trainLimit?: number;
  /** Use only the first N test images. */
  readonly testLimit?: number;
  readonly backend: BackendRequest;
  /**
   * Threads for the wasm backend in Node (default: half the logical cores, tfjs-wasm's rule). The results do not depend on it: every
   * multithreaded kernel splits its output and keeps each sum's order (docs/DECISIONS.md).
   */
  readonly threads?: number;
  readonly seed: number;
  /** The run folder. */
  readonly out: string;
  /**
   * Continue from the run folder's checkpoint. Every setting but `epochs` must be the one the run was
   * started with (a changed one is refused); a changed `epochs` is said in the log.
   */
  readonly resume: boolean;
  /** Remove the files of an earlier run in the folder first (without it, such a folder is refused). */
  readonly overwrite?: boolean;
  /** Training-image augmentation: `none` (the paper), `flip` (horizontal flips), `crop-flip` (crop with padding 4, and flips). */
  readonly augment: AugmentKind;
  /** The pruning method (default dense). */
  readonly method?: MethodName;
  /** Target sparsity of the sparse layers, in [0, 1). */
  readonly sparsity?: number;
  /** How nonzeros are shared between layers (default uniform). */
  readonly distribution?: DistributionName;
  /** DSR's Np. */
  readonly targetPruned?: number;
  /** The (first) mask-update period in steps. */
  readonly period?: number;
  /** SET/RigL drop fraction. */
  readonly dropFraction?: number;
  /** Width multiplier for models that have one. */
  readonly width?: number;
  /** BatchNorm moving-average momentum for models with BatchNorm (default 0.99). */
  readonly batchNormMomentum?: number;
  /**
   * After training, re-estimate BatchNorm statistics from this many clean training images, never the
   * held-out ones (`recalibrateBatchNorm`; default 0, off). result.json keeps the validation figures
   * before and after it; the test set is evaluated once, after it.
   */
  readonly batchNormRecalibration?: number;
  /** One-shot only: epochs of fine-tuning with the mask fixed, after pruning. */
  readonly finetuneEpochs?: number;
  /** `constant` (default), `cosine` or `step` (the WRN recipe) decay of the learning rate. */
  readonly learningRateSchedule?: LearningRateSchedule;
  /** `adam` (default) or `sgd` with momentum. */
  readonly optimizer?: OptimizerName;
  /** SGD's momentum. */
  readonly momentum?: number;
  /** L2 weight decay on kernels. */
  readonly weightDecay?: number;
  /** Kernels of the masked layers: `auto` (default), `dense` or `sparse`. */
  readonly kernels?: KernelMode;
  /**
   * Hold out the last N training images for per-epoch validation (and every choice); the test set is then
   * evaluated once, at the end. 0 or absent: validate on the test set each epoch, as the paper does.
   */
  readonly validation?: number;
  /** With a held-out validation split, also evaluate the test set after every epoch (labelled as such). */
  readonly testEachEpoch?: boolean;
  /** The command line as the user typed it, for config.json (default: process.argv). */
  readonly command?: string;
  /** DSR only: false for the ablation without cross-layer reallocation. */
  readonly dsrReallocation?: boolean;
  /** A human-readable name of the run (the paper comparison's row), for reports. */
  readonly label?: string;
  /** Sparse-aware initialization: scale each unit's initial weights to its active fan-in. */
  readonly sparseInit?: boolean;
}

export interface TrainingRunEvents {
  /** One line of human-readable progress (backend chosen, data source...). */
  onLog?(line: string): void;
  onDownload?(progress: DownloadProgress): void;
  train?: TrainCallbacks;
  /**
   * Stops the run at an epoch boundary, after its checkpoint ({@link TrainOptions.signal}; for one-shot also
   * between training and fine-tuning): runTraining then rejects with TrainingStoppedError, and the same
   * config with `resume` continues it.
   */
  signal?: AbortSignal;
}

export interface TrainingRunResult extends TrainResult {
  readonly outDir: string;
  readonly backend: string;
  /** Size of the saved dense tfjs model (model.json + weights.bin). */
  readonly denseBytes: number;
  /** When BatchNorm statistics were re-estimated after training: the validation figures before and after. */
  readonly batchNormRecalibration?: BatchNormRecalibration;
}

/** The data one run trains, validates and tests on. */
interface RunData {
  readonly dataset: Dataset;
  readonly train: ImageSplit;
  /** Per-epoch curves and every choice: held-out training images, or the test set (the paper's way). */
  readonly validation: ImageSplit;
  readonly heldOut: boolean;
}

async function loadRunData(config: TrainingRunConfig, events: TrainingRunEvents): Promise<RunData> {
  const log = events.onLog ?? (() => undefined);
  const heldOut = (config.validation ?? 0) > 0;
  log(`loading ${config.dataset}...`);
  const dataset = await loadDataset(config.dataset, {
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    // The held-out images are the last training images, so the whole training set is read first.
    ...(config.trainLimit !== undefined && !heldOut ? { trainLimit: config.trainLimit } : {}),
    ...(config.testLimit !== undefined ? { testLimit: config.testLimit } : {}),
    ...(events.onDownload ? { onProgress: events.onDownload } : {}),
    onWarning: (message) => log(`warning: ${message}`),
  });
  const split = heldOut
    ? holdOutValidation(dataset.train, config.validation!, config.trainLimit)
    : { train: dataset.train, validation: dataset.test };
  log(
    `data: ${config.dataset}, ${split.train.count} training, ` +
      (heldOut
        ? `${split.validation.count} validation (the last training images, held out) and `
        : '') +
      `${dataset.test.count} test images, from ${dataset.source.path} (${describeSource(dataset.source)})`,
  );
  return { dataset: { ...dataset, train: split.train }, ...split, heldOut };
}

/** The model of a run: built dense, then sparsified with dynamic layers when the method has an algorithm. */
async function buildRunModel(
  config: TrainingRunConfig,
  data: Dataset,
  log: (line: string) => void,
): Promise<{ model: LayersModel; pruner: SparseTrainer | undefined; method: MethodSpec }> {
  const spec = getModel(config.model);
  const dense = spec.build({
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    seed: config.seed,
    ...(config.width !== undefined ? { width: config.width } : {}),
    ...(config.batchNormMomentum !== undefined
      ? { batchNormMomentum: config.batchNormMomentum }
      : {}),
  });
  const method = getMethod(config.method ?? 'dense');
  const sparsity = config.sparsity ?? 0;
  const algorithm = method.create({
    sparsity,
    ...(config.distribution ? { distribution: config.distribution } : {}),
    ...(config.targetPruned !== undefined ? { targetPruned: config.targetPruned } : {}),
    ...(config.period !== undefined ? { period: config.period } : {}),
    ...(config.dropFraction !== undefined ? { dropFraction: config.dropFraction } : {}),
    ...(config.dsrReallocation === false ? { reallocate: false } : {}),
  });
  if (algorithm === undefined) return { model: dense, pruner: undefined, method };
  // Methods that start dense (gmp, oneshot) still get dynamic layers, with full masks, to prune later.
  const converted = await sparsify(dense, {
    sparsity: method.sparseFromStart ? sparsity : 0,
    distribution: config.distribution ?? 'uniform',
    maskInit: 'random',
    seed: config.seed,
    ...(config.sparseInit ? { sparseInit: true } : {}),
    ...(spec.keepDense ? { exclude: (l: { name: string }) => spec.keepDense!(l.name) } : {}),
  });
  dense.dispose();
  log(
    `method ${method.name}: ${converted.allocation.length} sparse layers` +
      (method.sparseFromStart
        ? ` at ${sparsity} sparsity (${config.distribution ?? 'uniform'})`
        : ', dense until pruning'),
  );
  return {
    model: converted.model,
    pruner: new SparseTrainer(converted.model, algorithm),
    method,
  };
}

/**
 * Trains, then for one-shot fine-tunes the pruned model with its mask fixed. The fine-tuning run takes
 * every option of the first (optimizer, momentum, weight decay, augmentation, callbacks) and continues
 * its learning-rate schedule; it checkpoints in `finetune/` so an interrupted run resumes there.
 */
async function trainAndFinetune(
  base: TrainOptions,
  finetuneEpochs: number,
  pruner: SparseTrainer | undefined,
): Promise<TrainResult> {
  const stepsPerEpoch = Math.ceil(base.train.count / base.batchSize);
  const scheduleSteps = (base.epochs + finetuneEpochs) * stepsPerEpoch;
  const result = await train({
    ...base,
    ...(pruner ? { hooks: [pruner] } : {}),
    learningRateSteps: { offset: 0, total: scheduleSteps },
  });
  if (finetuneEpochs === 0) return result;
  // The pruned model is checkpointed with the last training epoch: the fine-tuning starts from it on resume.
  if (base.signal?.aborted)
    throw new TrainingStoppedError(base.epochs, base.epochs + finetuneEpochs, base.runDir);
  const tuned = await train({
    ...base,
    epochs: finetuneEpochs,
    seed: base.seed + 1,
    hooks: [new SparseTrainer(base.model, new StaticMask())],
    learningRateSteps: { offset: base.epochs * stepsPerEpoch, total: scheduleSteps },
    ...(base.runDir !== undefined ? { runDir: join(base.runDir, 'finetune') } : {}),
  });
  return {
    ...tuned,
    epochs: [
      ...result.epochs,
      ...tuned.epochs.map((e) => ({ ...e, epoch: e.epoch + result.epochs.length })),
    ],
    sparsity: result.sparsity,
    steps: result.steps + tuned.steps,
    trainSeconds: result.trainSeconds + tuned.trainSeconds,
    maskUpdateSeconds: result.maskUpdateSeconds,
  };
}

/** The final model's figures: {@link finalEvaluation}'s result. */
interface FinalEvaluation {
  /** The test figures, read once (without a held-out split: the validation figures, which are the test set's). */
  readonly test: { loss: number; acc: number };
  /** The final model's validation figures, after any recalibration. */
  readonly validated: { loss: number; acc: number };
  readonly recalibration: BatchNormRecalibration | undefined;
}

/**
 * After training: BatchNorm recalibration on the first `images` training images, judged on the validation
 * split, then the test set evaluated once, on the final model. `trained` is the last epoch's validation.
 */
function finalEvaluation(
  model: LayersModel,
  data: RunData,
  images: number,
  trained: { loss: number; acc: number },
  log: (line: string) => void,
): FinalEvaluation {
  if (images > 0) log('re-estimating BatchNorm statistics...');
  const recalibration = recalibrateAndValidate(
    model,
    {
      train: data.train,
      validation: data.validation,
      inputShape: data.dataset.inputShape,
      validationIsTest: !data.heldOut,
    },
    images,
    trained,
  );
  if (recalibration) log(recalibrationLine('', recalibration));
  const validated = recalibration?.kept
    ? { acc: recalibration.validationAccAfter, loss: recalibration.validationLossAfter }
    : trained;
  if (!data.heldOut) return { test: validated, validated, recalibration };
  log(`evaluating on ${data.dataset.test.count} test images...`);
  const test = evaluate(model, data.dataset.test, data.dataset.inputShape);
  return { test, validated, recalibration };
}

/**
 * The wasm backend's threads for a run: `threads` (default: half the cores) for dynaprune's kernels and,
 * when the run trains on the sparse kernels from its start, one for XNNPACK (`xnnpackThreadsFor`).
 */
function backendThreads(config: TrainingRunConfig): { threads: number; xnnpackThreads: number } {
  const threads = config.threads ?? defaultThreads();
  const trainsSparse = trainsSparseFromStart(
    config.kernels ?? 'auto',
    getMethod(config.method ?? 'dense').sparseFromStart,
    config.sparsity ?? 0,
  );
  return { threads, xnnpackThreads: xnnpackThreadsFor(threads, trainsSparse) };
}

/**
 * Trains `config.model` on `config.dataset` and writes the run folder: config.json, metrics.jsonl,
 * sparsity.jsonl, checkpoints after every epoch, the final tfjs model under `model/`, and result.json.
 * With `validation`, per-epoch figures come from held-out training images and the test set is evaluated
 * once, at the end (result.json's testAcc).
 */
export async function runTraining(
  config: TrainingRunConfig,
  events: TrainingRunEvents = {},
): Promise<TrainingRunResult> {
  const log = events.onLog ?? (() => undefined);
  const prepared = await prepareRunFolder(config.out, {
    resume: config.resume,
    overwrite: config.overwrite === true,
  });
  for (const path of prepared.removedTemporaries) {
    log(`removed a leftover of a killed write: ${path}`);
  }
  const stored = prepared.state === 'resume' ? await checkResumable(config, log) : undefined;
  const backend = await initBackend(config.backend, backendThreads(config));
  log(backend.description);
  const data = await loadRunData(config, events);
  const { model, pruner, method } = await buildRunModel(config, data.dataset, log);
  const run = new RunFolder(config.out);
  await run.writeConfig({
    ...config,
    startedAt:
      typeof stored?.['startedAt'] === 'string' ? stored['startedAt'] : new Date().toISOString(),
    ...(stored ? { resumedAt: new Date().toISOString() } : {}),
    data: data.dataset.source,
    backend: backend.backend,
    backendDescription: backend.description,
    machine: describeMachine(),
    // The software of the first start, and of this one when a resumed run continues on another.
    software: stored?.['software'] ?? describeSoftware(),
    ...(stored ? { resumedWith: describeSoftware() } : {}),
    parameters: trainableParameters(model),
  });
  const base: TrainOptions = {
    model,
    train: data.train,
    validation: data.validation,
    ...(config.testEachEpoch && data.heldOut ? { test: data.dataset.test } : {}),
    inputShape: data.dataset.inputShape,
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    ...(config.learningRateSchedule ? { learningRateSchedule: config.learningRateSchedule } : {}),
    ...(config.optimizer ? { optimizer: config.optimizer } : {}),
    ...(config.momentum !== undefined ? { momentum: config.momentum } : {}),
    ...(config.weightDecay !== undefined ? { weightDecay: config.weightDecay } : {}),
    ...(config.kernels !== undefined ? { kernels: config.kernels } : {}),
    seed: config.seed,
    ...(config.augment !== 'none' ? { augmentation: augmentOptions(config.augment) } : {}),
    runDir: config.out,
    resume: config.resume,
    ...(events.train ? { callbacks: events.train } : {}),
    ...(events.signal ? { signal: events.signal } : {}),
  };
  const finetune = method.name === 'oneshot' ? (config.finetuneEpochs ?? 0) : 0;
  let final: TrainResult;
  try {
    final = await trainAndFinetune(base, finetune, pruner);
  } catch (error) {
    // Stopped on request (TrainingStoppedError) or failed: nothing more happens to this model.
    pruner?.dispose();
    model.dispose();
    throw error;
  }
  pruner?.dispose();
  if (finetune > 0) await run.writeMetrics(final.epochs);
  const evaluated = finalEvaluation(
    model,
    data,
    config.batchNormRecalibration ?? 0,
    final.final,
    log,
  );
  const { validated, recalibration } = evaluated;
  final = { ...final, final: evaluated.test };
  log('saving the model...');
  await model.save(folderHandler(run.modelDir));
  const denseBytes = await savedModelBytes(run.modelDir);
  const last = pruner?.snapshot(final.steps, final.epochs.length);
  await run.writeJson('result.json', {
    testAcc: final.final.acc,
    testLoss: final.final.loss,
    ...(data.heldOut ? { validationAcc: validated.acc, validationLoss: validated.loss } : {}),
    validation: data.heldOut ? data.validation.count : 'test',
    trainSeconds: final.trainSeconds,
    maskUpdateSeconds: final.maskUpdateSeconds,
    maskUpdateShare: final.trainSeconds > 0 ? final.maskUpdateSeconds / final.trainSeconds : 0,
    steps: final.steps,
    parameters: trainableParameters(model),
    ...(last
      ? {
          nnz: last.layers.reduce((a, l) => a + l.nnz, 0),
          globalSparsity: last.globalSparsity,
          layers: last.layers,
        }
      : {}),
    denseBytes,
    ...(recalibration ? { batchNormRecalibration: recalibration } : {}),
    finishedAt: new Date().toISOString(),
  });
  model.dispose();
  return {
    ...final,
    outDir: config.out,
    backend: backend.backend,
    denseBytes,
    ...(recalibration ? { batchNormRecalibration: recalibration } : {}),
  };
}

/**
 * Fields of config.json that do not change what a run computes: where it ran and was written, where the
 * data came from, and what runTraining adds (command, start time, backend, machine, parameter count).
 */
const INCIDENTAL_FIELDS = new Set([
  'out',
  'resume',
  'overwrite',
  'data',
  'resumedAt',
  'dataDir',
  'backend',
  'threads',
  'command',
  'startedAt',
  'backendDescription',
  'machine',
  'software',
  'resumedWith',
  'parameters',
  'testEachEpoch',
  'label',
]);

/** The fields of a config that define a run's result, in a canonical order, for comparison. */
function runDefinition(config: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(config).filter(
    (k) => !INCIDENTAL_FIELDS.has(k) && config[k] !== undefined,
  );
  return JSON.stringify(keys.sort().map((k) => [k, config[k]]));
}

/** The flag that sets each config field, for messages (camelCase fields not listed map to kebab-case). */
const FLAG_OF: Readonly<Record<string, string>> = {
  targetPruned: '--np',
  period: '--rewire-period',
  batchNormMomentum: '--bn-momentum',
  batchNormRecalibration: '--bn-recalibration',
  learningRateSchedule: '--lr-schedule',
};

const flagOf = (key: string): string =>
  FLAG_OF[key] ?? `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;

/** One phrase for the log: whether the data's checksum is known. */
function describeSource(source: DataSource): string {
  if (source.verified) return `verified: ${source.matched ?? 'known checksum'}`;
  return source.checksum
    ? 'NOT verified: the archive checksum is not a known one'
    : 'NOT verified: a folder has no checksum to check';
}

/**
 * Reads the run's config.json and refuses a resume whose settings differ from the run's, except
 * `epochs`, whose change is logged. Returns the stored config.
 */
async function checkResumable(
  config: TrainingRunConfig,
  log: (line: string) => void,
): Promise<Record<string, unknown>> {
  let stored: Record<string, unknown>;
  try {
    const text = await readFile(join(config.out, 'config.json'), 'utf8');
    stored = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new RunFolderError(
      `${config.out} has a checkpoint but no readable config.json, so its settings are unknown; ` +
        'start again with --overwrite.',
      { cause: error },
    );
  }
  const given: Record<string, unknown> = { ...config };
  const keys = new Set([...Object.keys(stored), ...Object.keys(given)]);
  const shown = (v: unknown) => (v === undefined ? '(unset)' : String(v));
  const changed = [...keys]
    .filter((k) => !INCIDENTAL_FIELDS.has(k) && k !== 'epochs')
    .filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(given[k]))
    .sort()
    .map((k) => `${flagOf(k)} ${shown(given[k])} (the run has ${shown(stored[k])})`);
  if (changed.length > 0) {
    throw new RunFolderError(
      `--resume continues the run in ${config.out} with the settings it was started with, and only ` +
        `--epochs may change. These differ: ${changed.join('; ')}. Drop them, or start a new run ` +
        '(another --out, or --overwrite).',
    );
  }
  if (stored['epochs'] !== config.epochs) {
    log(
      `resuming with --epochs ${config.epochs} (the run was started with ${String(stored['epochs'])})`,
    );
  }
  return stored;
}

/**
 * The result of a run that already finished in `config.out` with the same definition (model, data,
 * epochs, method, seed... everything but the folder, the data's location and the backend), read back
 * from its files; undefined when there is none. Lets a long comparison continue after an interruption,
 * or use a model trained by another process, without training it again.
 */
export async function loadFinishedRun(
  config: TrainingRunConfig,
): Promise<TrainingRunResult | undefined> {
  const read = async (name: string): Promise<string | undefined> => {
    try {
      return await readFile(join(config.out, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  const [configText, resultText, metricsText, sparsityText] = await Promise.all([
    read('config.json'),
    read('result.json'),
    read('metrics.jsonl'),
    read('sparsity.jsonl'),
  ]);
  if (configText === undefined || resultText === undefined || metricsText === undefined)
    return undefined;
  const stored = JSON.parse(configText) as Record<string, unknown>;
  if (runDefinition(stored) !== runDefinition({ ...config })) return undefined;
  const result = JSON.parse(resultText) as {
    testAcc: number;
    testLoss: number;
    trainSeconds: number;
    maskUpdateSeconds: number;
    steps: number;
    denseBytes: number;
  };
  const lines = (text: string | undefined) =>
    (text ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  return {
    epochs: lines(metricsText) as EpochMetrics[],
    sparsity: lines(sparsityText) as SparsityRecord[],
    steps: result.steps,
    trainSeconds: result.trainSeconds,
    maskUpdateSeconds: result.maskUpdateSeconds,
    final: { loss: result.testLoss, acc: result.testAcc },
    outDir: config.out,
    backend: typeof stored['backend'] === 'string' ? stored['backend'] : 'unknown',
    denseBytes: result.denseBytes,
  };
}

/** How {@link trainOrReuse} got its result. */
export type RunOrigin = 'reused' | 'resumed' | 'trained';

/**
 * The run of `config`: with `reuse`, a finished run of the same definition is read back, and an
 * interrupted one (config.json of the same definition and a checkpoint) resumes from its last checkpoint;
 * otherwise it trains from scratch.
 */
export async function trainOrReuse(
  config: TrainingRunConfig,
  reuse: boolean,
  events: TrainingRunEvents = {},
): Promise<{ result: TrainingRunResult; origin: RunOrigin }> {
  if (reuse) {
    const finished = await loadFinishedRun(config);
    if (finished) return { result: finished, origin: 'reused' };
    let stored: string | undefined;
    try {
      stored = await readFile(join(config.out, 'config.json'), 'utf8');
    } catch {
      stored = undefined;
    }
    const same =
      stored !== undefined &&
      runDefinition(JSON.parse(stored) as Record<string, unknown>) === runDefinition({ ...config });
    if (same && existsSync(join(config.out, 'checkpoint.json'))) {
      events.onLog?.(`resuming the interrupted run in ${config.out} from its last checkpoint`);
      return { result: await runTraining({ ...config, resume: true }, events), origin: 'resumed' };
    }
  }
  return { result: await runTraining(config, events), origin: 'trained' };
}
