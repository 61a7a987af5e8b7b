// The training loop: seeded shuffling, Adam steps, hooks for sparse training, evaluation, run folder, checkpoints.
import {
  keep,
  tensor1d,
  tensor4d,
  tidy,
  add,
  addN,
  backend as currentBackend,
  getBackend,
  mul,
  square,
  sum,
  type LayersModel,
  type Optimizer,
  type Scalar,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import {
  DivergedError,
  InvalidArgumentError,
  NonFiniteLossError,
  ShapeMismatchError,
  TrainingStoppedError,
} from '../errors.js';
import { FusedAdamOptimizer } from '../engine/fused-adam.js';
import { FusedMomentumOptimizer } from '../engine/fused-momentum.js';
import { inPlaceBackend, sparseLayoutOf, sumSquaresAt } from '../engine/sparse-update.js';
import type { KernelMode } from '../engine/sparse-choice.js';
import { maskedLayers } from '../layers/index.js';
import { Random } from '../util/random.js';
import { Augmenter, type AugmentOptions } from '../data/augment.js';
import { makeBatch } from '../data/batch.js';
import type { ImageShape, ImageSplit } from '../data/types.js';
import type { CheckpointState } from './checkpoint.js';
import { renameRecordLayers, type SparsityRecord, type TrainingHook } from './hooks.js';
import { countCorrect, sparseCategoricalCrossentropy } from './loss.js';
import { resetMomentsOnMaskWrites } from './optimizer-state.js';
import type { RunFolder } from './run-folder.js';
import type * as RunFiles from '#platform/run-files';

/**
 * `constant` (the paper); `cosine`, a half cosine from the peak to 0 over the run; `step`, the Wide
 * ResNet recipe: the peak multiplied by 0.2 at 30%, 60% and 80% of training (epochs 60, 120, 160 of 200).
 */
export type LearningRateSchedule = 'constant' | 'cosine' | 'step';
export const learningRateSchedules: readonly LearningRateSchedule[] = [
  'constant',
  'cosine',
  'step',
];

/** `adam` (the paper, Keras defaults) or `sgd` with momentum (the Wide ResNet and DSR papers). */
export type OptimizerName = 'adam' | 'sgd';
export const optimizerNames: readonly OptimizerName[] = ['adam', 'sgd'];

/** The learning rate before optimizer step `step` (0-based) of `totalSteps`. */
export function learningRateAt(
  schedule: LearningRateSchedule,
  peak: number,
  step: number,
  totalSteps: number,
): number {
  if (schedule === 'constant') return peak;
  if (schedule === 'step') {
    const fraction = step / totalSteps;
    return peak * 0.2 ** [0.3, 0.6, 0.8].filter((b) => fraction >= b).length;
  }
  return (peak / 2) * (1 + Math.cos((Math.PI * step) / totalSteps));
}

/** One line of metrics.jsonl. Accuracies are fractions in [0, 1]. */
export interface EpochMetrics {
  /** 1-based, as Keras prints it. */
  readonly epoch: number;
  /** Mean over the epoch's batches, as Keras reports it. */
  readonly trainLoss: number;
  readonly trainAcc: number;
  /** On the validation split: held-out training images, or the test set when the run validates on it (the paper). */
  readonly valLoss: number;
  readonly valAcc: number;
  /** On the test set, only when asked for each epoch (`TrainOptions.test`); never used for choices. */
  readonly testLoss?: number;
  readonly testAcc?: number;
  /** Wall time of the epoch's training steps, hooks included, evaluation excluded. */
  readonly seconds: number;
  readonly imagesPerSecond: number;
  /** Time spent inside hooks that changed masks (DSR's mask updates, for example). */
  readonly maskUpdateSeconds: number;
  readonly evalSeconds: number;
  /** The learning rate of the epoch's last step. */
  readonly learningRate?: number;
}

/** Reported after every batch, for progress bars. */
export interface BatchProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Batches done in this epoch. */
  readonly batch: number;
  readonly batches: number;
  readonly imagesPerSecond: number;
  /** Seconds since the epoch started. */
  readonly elapsedSeconds: number;
  /** Running means over this epoch. */
  readonly loss: number;
  readonly acc: number;
}

export interface TrainCallbacks {
  onEpochBegin?(epoch: number, epochs: number): void;
  onBatchEnd?(progress: BatchProgress): void;
  onEpochEnd?(metrics: EpochMetrics): void;
  onSparsity?(record: SparsityRecord): void;
  /** Called when evaluation starts, with the number of images to evaluate. */
  onEvaluate?(images: number): void;
  /** Something the user should know, such as training on the slow tfjs-cpu backend. The loop never prints. */
  onWarning?(message: string): void;
}

export interface TrainOptions {
  /** A compiled or uncompiled tfjs model whose output is class probabilities (softmax). */
  readonly model: LayersModel;
  readonly train: ImageSplit;
  /** The validation split, evaluated after every epoch; the paper validates on the test set. */
  readonly validation: ImageSplit;
  /** Also evaluate this split (the test set) after every epoch, recorded apart as testLoss/testAcc. */
  readonly test?: ImageSplit;
  readonly inputShape: ImageShape;
  readonly epochs: number;
  readonly batchSize: number;
  /** The learning rate (the peak, with a schedule). */
  readonly learningRate: number;
  /** Default `adam` (β1 0.9, β2 0.999, ε 1e-7: Keras's defaults). */
  readonly optimizer?: OptimizerName;
  /** SGD's momentum (default 0.9). */
  readonly momentum?: number;
  /**
   * L2 weight decay on conv and dense kernels: adds (weightDecay / 2)·Σw² to the loss, so each step
   * subtracts weightDecay·w. Default 0; the WRN recipe uses 5e-4.
   */
  readonly weightDecay?: number;
  /**
   * `constant` (default, as in the paper) or `cosine`: the rate decays from `learningRate` to 0 along a
   * half cosine over the whole run, a standard way to finish short runs at a better minimum.
   */
  readonly learningRateSchedule?: LearningRateSchedule;
  /**
   * Where this run sits on the learning-rate schedule: its first step is step `offset` of a schedule
   * `total` steps long. Default: the schedule spans exactly this run. A fine-tuning run after one-shot
   * pruning continues the schedule of the run before it instead of restarting at the peak.
   */
  readonly learningRateSteps?: { readonly offset: number; readonly total: number };
  readonly seed: number;
  /** Opt-in augmentation of training images (random crop with padding, horizontal flip). */
  readonly augmentation?: AugmentOptions;
  readonly hooks?: readonly TrainingHook[];
  readonly callbacks?: TrainCallbacks;
  /** When set, the loop writes metrics, sparsity records and checkpoints there. */
  readonly runDir?: string;
  /** Resume from `runDir`'s checkpoint if there is one. */
  readonly resume?: boolean;
  /** Batch size for evaluation (memory only; results do not depend on it). */
  readonly evalBatchSize?: number;
  /** The clock, in milliseconds; injectable for tests. */
  readonly clock?: () => number;
  /**
   * Kernels of the masked layers on the wasm backend: `auto` (default: sparse kernels below each layer's
   * measured crossover density, re-decided as the density changes), `dense` or `sparse`.
   */
  readonly kernels?: KernelMode;
  /**
   * Stop a run that diverged without reaching NaN (default on; `false` turns it off). The rule, checked at
   * the end of every epoch from the second on: the epoch's mean training loss is not below the first
   * epoch's AND is above ln(classes) (worse than a uniform guess) AND the validation accuracy is at most
   * 1.5/classes (chance). All three hold for a run blown up by too high a learning rate (loss stuck near
   * 14.5, 10% accuracy on CIFAR-10) and none of them for a run that learns. The diverged epoch writes no
   * checkpoint, so the last good one is kept, and DivergedError is thrown.
   */
  readonly divergence?: boolean;
  /**
   * Asks the loop to stop early, like tfjs's `model.stopTraining`, but so that it can resume: once the
   * signal is aborted, the loop ends the epoch in progress, writes its metrics and checkpoint (with
   * `runDir`), and rejects with TrainingStoppedError. Training again with `resume` then continues from that
   * checkpoint and ends exactly where the uninterrupted run would have. A request during the last epoch is
   * ignored: the run ends there anyway.
   */
  readonly signal?: AbortSignal;
}

/** True when an epoch meets the divergence rule of {@link TrainOptions.divergence}. */
export function hasDiverged(
  first: EpochMetrics | undefined,
  current: EpochMetrics,
  classes: number,
): boolean {
  if (first === undefined || current.epoch < 2 || !(classes >= 2)) return false;
  return (
    !(current.trainLoss < first.trainLoss) &&
    current.trainLoss > Math.log(classes) &&
    current.valAcc <= 1.5 / classes
  );
}

export interface TrainResult {
  readonly epochs: readonly EpochMetrics[];
  readonly sparsity: readonly SparsityRecord[];
  readonly steps: number;
  /** Sum of the epochs' training seconds (evaluation excluded). */
  readonly trainSeconds: number;
  readonly maskUpdateSeconds: number;
  readonly final: { readonly loss: number; readonly acc: number };
}

/** Loss and accuracy of `model` on `split`, in batches. Leaves no tensors behind. */
export function evaluate(
  model: LayersModel,
  split: ImageSplit,
  inputShape: ImageShape,
  batchSize = 500,
): { loss: number; acc: number } {
  const [h, w, c] = inputShape;
  const order = Int32Array.from({ length: split.count }, (_, i) => i);
  const x = new Float32Array(batchSize * h * w * c);
  const y = new Int32Array(batchSize);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.count; start += batchSize) {
    const size = Math.min(batchSize, split.count - start);
    makeBatch(split, inputShape, order.subarray(start, start + size), {
      into: { images: x, labels: y },
    });
    const [loss, right] = tidy(() => {
      const xs = tensor4d(x.subarray(0, size * h * w * c), [size, h, w, c]);
      const ys = tensor1d(y.subarray(0, size), 'int32');
      const probs = model.predict(xs) as Tensor;
      return [
        sparseCategoricalCrossentropy(probs, ys).dataSync()[0]!,
        countCorrect(probs, ys).dataSync()[0]!,
      ];
    });
    lossSum += loss * size;
    correct += right;
  }
  return { loss: lossSum / split.count, acc: correct / split.count };
}

function validate(options: TrainOptions): void {
  const { epochs, batchSize, learningRate, train, validation, inputShape } = options;
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}.`);
    }
  };
  positiveInt('epochs', epochs);
  positiveInt('batchSize', batchSize);
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new InvalidArgumentError(`learningRate must be a positive number, got ${learningRate}.`);
  }
  if (train.count < 1) throw new InvalidArgumentError('The training split is empty.');
  if (!((options.weightDecay ?? 0) >= 0)) {
    throw new InvalidArgumentError(`weightDecay must be >= 0, got ${String(options.weightDecay)}.`);
  }
  const momentum = options.momentum ?? 0.9;
  if (!(momentum >= 0 && momentum < 1))
    throw new InvalidArgumentError(`momentum must be in [0, 1), got ${momentum}.`);
  const pixels = inputShape[0] * inputShape[1] * inputShape[2];
  for (const [name, split] of [
    ['training', train],
    ['validation', validation],
  ] as const) {
    if (split.images.length !== split.count * pixels || split.labels.length !== split.count) {
      throw new ShapeMismatchError(
        `The ${name} split holds ${split.images.length} pixel bytes and ${split.labels.length} labels ` +
          `for ${split.count} images of shape ${inputShape.join('x')}.`,
      );
    }
  }
  const modelInput = options.model.inputs[0]?.shape.slice(1);
  if (modelInput && modelInput.join('x') !== inputShape.join('x')) {
    throw new ShapeMismatchError(
      `The model expects inputs of shape ${modelInput.join('x')}, the data has ${inputShape.join('x')}.`,
    );
  }
}

/**
 * The decayed kernels that take the loss's decay term (`dense`: their layer ran on the dense path), and
 * Σ w² over the active positions of the others, which decay inside the optimizer.
 */
function splitDecayed(decayed: readonly Variable[]): {
  dense: Variable[];
  sparseSumSquares: number;
} {
  const where = inPlaceBackend();
  const dense: Variable[] = [];
  let sparseSumSquares = 0;
  for (const kernel of decayed) {
    const layout = sparseLayoutOf(kernel);
    if (layout === undefined || where === undefined) dense.push(kernel);
    else sparseSumSquares += sumSquaresAt(where, kernel, layout);
  }
  return { dense, sparseSumSquares };
}

/** What a run fixes before its first step, from its options. */
interface RunPlan {
  readonly options: TrainOptions;
  readonly hooks: readonly TrainingHook[];
  readonly callbacks: TrainCallbacks;
  readonly clock: () => number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly optimizer: Optimizer;
  /** What every step updates: the model's trainable weights. */
  readonly variables: Variable[];
  readonly weightDecay: number;
  /** The kernels that weight decay applies to. */
  readonly decayed: readonly Variable[];
}

/**
 * tfjs's Adam or momentum SGD, fused on the wasm backend, and updating sparse-path kernels in place at
 * their active positions (the same steps). Those kernels take their decay inside the optimizer, at their
 * active positions only.
 */
function createOptimizer(
  options: TrainOptions,
  weightDecay: number,
  decayed: readonly Variable[],
): Optimizer {
  const sparseDecay = { weightDecay, decayed: new Set(decayed.map((k) => k.name)) };
  return (options.optimizer ?? 'adam') === 'adam'
    ? new FusedAdamOptimizer(options.learningRate, 0.9, 0.999, currentBackend().epsilon(), {
        sparseDecay,
      })
    : new FusedMomentumOptimizer(options.learningRate, options.momentum ?? 0.9, false, {
        sparseDecay,
      });
}

function planRun(options: TrainOptions): RunPlan {
  const { model, epochs, batchSize, hooks = [], callbacks = {} } = options;
  const stepsPerEpoch = Math.ceil(options.train.count / batchSize);
  const weightDecay = options.weightDecay ?? 0;
  // Decay applies to kernels only, not to biases, BatchNorm parameters or masks (which never train).
  const decayed = model.trainableWeights
    .filter((w) => /\/kernel(_\d+)?$/.test(w.originalName))
    .map((w) => w.read() as Variable);
  const optimizer = createOptimizer(options, weightDecay, decayed);
  for (const layer of maskedLayers(model)) layer.kernelMode = options.kernels ?? 'auto';
  return {
    options,
    hooks,
    callbacks,
    clock: options.clock ?? (() => performance.now()),
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * epochs,
    optimizer,
    variables: model.trainableWeights.map((v) => v.read() as Variable),
    weightDecay,
    decayed,
  };
}

/** The run folder, and the node:fs code that writes it and its checkpoints. */
interface RunOutput {
  readonly folder: RunFolder;
  readonly files: typeof RunFiles;
}

/** Loads node:fs only when asked: browser bundles get a stand-in that refuses. */
async function openRunOutput(options: TrainOptions): Promise<RunOutput | undefined> {
  if (options.runDir === undefined) return undefined;
  const files = await import('#platform/run-files');
  return { folder: new files.RunFolder(options.runDir), files };
}

/** Where a run stands: what its checkpoints hold, advanced by every step and epoch. */
interface RunState {
  /** The run's generator: data order, augmentation and the hooks' random choices. */
  readonly rng: Random;
  /** Optimizer steps done. */
  step: number;
  /** Epochs done when this call began (0, or the checkpoint's when resuming). */
  readonly startEpoch: number;
  readonly history: EpochMetrics[];
  readonly sparsity: SparsityRecord[];
}

/** A fresh state, or the checkpoint's when resuming a run folder that has one (hooks get theirs back). */
async function startingState(plan: RunPlan, output: RunOutput | undefined): Promise<RunState> {
  const { options, hooks } = plan;
  if (!output || !options.resume || !(await output.files.hasCheckpoint(output.folder.dir))) {
    return { rng: new Random(options.seed), step: 0, startEpoch: 0, history: [], sparsity: [] };
  }
  const checkpoint = await output.files.loadCheckpoint(
    output.folder.dir,
    options.model,
    plan.optimizer,
  );
  const restored = (checkpoint.extra['sparsity'] as SparsityRecord[] | undefined) ?? [];
  for (const hook of hooks) {
    if (hook.setState && checkpoint.hooks[hook.name] !== undefined)
      hook.setState(checkpoint.hooks[hook.name]);
  }
  return {
    rng: Random.fromState(checkpoint.rng),
    step: checkpoint.step,
    startEpoch: checkpoint.epochsDone,
    history: [...((checkpoint.extra['history'] as EpochMetrics[] | undefined) ?? [])],
    // The checkpoint's records may name the layers with another process's counter.
    sparsity: renameRecordLayers(
      restored,
      maskedLayers(options.model).map((l) => l.name),
    ),
  };
}

/** Keeps a hook's record, if it made one, in the run's sparsity history and reports it. */
function recordSparsity(plan: RunPlan, state: RunState, record: SparsityRecord | void): boolean {
  if (!record) return false;
  state.sparsity.push(record);
  plan.callbacks.onSparsity?.(record);
  return true;
}

/** Starts the hooks; a fresh run's initial records join the history (a resumed one has them already). */
function beginHooks(plan: RunPlan, state: RunState): void {
  for (const hook of plan.hooks) {
    const record = hook.onTrainBegin?.({
      model: plan.options.model,
      optimizer: plan.optimizer,
      stepsPerEpoch: plan.stepsPerEpoch,
      totalSteps: plan.totalSteps,
      startStep: state.step,
      rng: state.rng,
    });
    if (state.step === 0) recordSparsity(plan, state, record);
  }
}

/**
 * Calls `method` of every hook that has it and records what it returns. Returns the seconds spent in the
 * calls that changed masks (DSR's rewiring, for example), which the metrics report apart.
 */
function callHooks<K extends 'onStepEnd' | 'onTrainEnd'>(
  plan: RunPlan,
  state: RunState,
  method: K,
  info: Parameters<NonNullable<TrainingHook[K]>>[0],
): number {
  let seconds = 0;
  for (const hook of plan.hooks) {
    const call = hook[method] as ((info: unknown) => SparsityRecord | void) | undefined;
    if (!call) continue;
    const t0 = plan.clock();
    if (recordSparsity(plan, state, call.call(hook, info))) seconds += (plan.clock() - t0) / 1000;
  }
  return seconds;
}

/** The learning rate of step `step` (0-based), set on the optimizer. */
function scheduleRate(plan: RunPlan, step: number): number {
  const { options } = plan;
  const schedule = options.learningRateSchedule ?? 'constant';
  const rate = learningRateAt(
    schedule,
    options.learningRate,
    (options.learningRateSteps?.offset ?? 0) + step,
    options.learningRateSteps?.total ?? plan.totalSteps,
  );
  // tfjs optimizers read their rate on every step; there is no public setter.
  if (schedule !== 'constant')
    (plan.optimizer as unknown as { learningRate: number }).learningRate = rate;
  return rate;
}

/** One optimizer step on a batch: its loss (the decay term included) and how many it got right. */
function optimizerStep(plan: RunPlan, xs: Tensor, ys: Tensor): { loss: number; hits: number } {
  const { weightDecay } = plan;
  let right: Scalar | undefined;
  let sparseDecaySum = 0;
  const cost = plan.optimizer.minimize(
    () => {
      const probs = plan.options.model.apply(xs, { training: true }) as Tensor;
      // minimize() runs f in a scope that frees what f creates; keep the count for after.
      right = keep(countCorrect(probs, ys));
      const loss = sparseCategoricalCrossentropy(probs, ys);
      if (weightDecay === 0) return loss;
      // The forward pass has chosen each layer's path: sparse-path kernels decay in the optimizer,
      // and their term of the reported loss is read at their active positions.
      const split = splitDecayed(plan.decayed);
      sparseDecaySum = split.sparseSumSquares;
      if (split.dense.length === 0) return loss;
      return add(
        loss,
        mul(weightDecay / 2, addN(split.dense.map((k) => sum(square(k))))),
      ) as Scalar;
    },
    true,
    plan.variables,
  )!;
  const loss = cost.dataSync()[0]! + (weightDecay / 2) * sparseDecaySum;
  const hits = right!.dataSync()[0]!;
  cost.dispose();
  right!.dispose();
  return { loss, hits };
}

/** The buffers every batch is built in, the shuffled order of the images, and the augmenter. */
interface BatchSource {
  readonly order: Int32Array;
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly augmenter: Augmenter | undefined;
}

function batchSource(options: TrainOptions, rng: Random): BatchSource {
  const [h, w, c] = options.inputShape;
  return {
    order: Int32Array.from({ length: options.train.count }, (_, i) => i),
    x: new Float32Array(options.batchSize * h * w * c),
    y: new Int32Array(options.batchSize),
    augmenter: options.augmentation ? new Augmenter(rng, options.augmentation) : undefined,
  };
}

/** What an epoch's steps add up to, for its metrics. */
interface EpochTally {
  /** The clock when the epoch began. */
  readonly start: number;
  lossSum: number;
  correct: number;
  seen: number;
  /** The learning rate of the epoch's last step. */
  rate: number;
  /** Seconds in hooks that changed masks. */
  maskSeconds: number;
}

/** Batch `b` of the epoch: built, trained on, handed to the hooks, added to the tally. */
function trainBatch(
  plan: RunPlan,
  state: RunState,
  batches: BatchSource,
  position: { readonly epoch: number; readonly batch: number },
  tally: EpochTally,
): void {
  const { train: split, inputShape, batchSize } = plan.options;
  const [h, w, c] = inputShape;
  const start = position.batch * batchSize;
  const size = Math.min(batchSize, split.count - start);
  makeBatch(split, inputShape, batches.order.subarray(start, start + size), {
    into: { images: batches.x, labels: batches.y },
    ...(batches.augmenter ? { augment: batches.augmenter } : {}),
  });
  const xs = tensor4d(batches.x.subarray(0, size * h * w * c), [size, h, w, c]);
  const ys = tensor1d(batches.y.subarray(0, size), 'int32');
  try {
    tally.rate = scheduleRate(plan, state.step);
    const { loss, hits } = optimizerStep(plan, xs, ys);
    state.step++;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(state.step, loss);
    const { epoch } = position;
    const info = { step: state.step, epoch, totalSteps: plan.totalSteps, x: xs, y: ys };
    tally.maskSeconds += callHooks(plan, state, 'onStepEnd', info);
    tally.lossSum += loss * size;
    tally.correct += hits;
    tally.seen += size;
  } finally {
    xs.dispose();
    ys.dispose();
  }
}

/** Lets signals (Ctrl-C) and timers run every 100 ms or so: the loop is otherwise synchronous. */
function eventLoopBreaks(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last <= 100) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

/** Trains one epoch (0-based `epoch`), reporting each batch; the last epoch ends with the hooks' end. */
async function trainEpoch(
  plan: RunPlan,
  state: RunState,
  batches: BatchSource,
  epoch: number,
  pause: () => Promise<void>,
): Promise<EpochTally> {
  const { options, callbacks, clock, stepsPerEpoch } = plan;
  callbacks.onEpochBegin?.(epoch + 1, options.epochs);
  // Each epoch shuffles the identity order, so the order depends only on the generator's state,
  // which checkpoints hold: a resumed run sees the same batches as an uninterrupted one.
  for (let i = 0; i < batches.order.length; i++) batches.order[i] = i;
  state.rng.shuffle(batches.order);
  const tally: EpochTally = {
    start: clock(),
    lossSum: 0,
    correct: 0,
    seen: 0,
    rate: options.learningRate,
    maskSeconds: 0,
  };
  for (let b = 0; b < stepsPerEpoch; b++) {
    trainBatch(plan, state, batches, { epoch, batch: b }, tally);
    const elapsed = (clock() - tally.start) / 1000;
    await pause();
    callbacks.onBatchEnd?.({
      epoch: epoch + 1,
      epochs: options.epochs,
      batch: b + 1,
      batches: stepsPerEpoch,
      imagesPerSecond: elapsed > 0 ? tally.seen / elapsed : 0,
      elapsedSeconds: elapsed,
      loss: tally.lossSum / tally.seen,
      acc: tally.correct / tally.seen,
    });
  }
  if (epoch === options.epochs - 1)
    tally.maskSeconds += callHooks(plan, state, 'onTrainEnd', { step: state.step, epoch });
  return tally;
}

/** Evaluates the model after an epoch (the validation split, and the test set when asked) into its metrics. */
function epochMetrics(plan: RunPlan, epoch: number, tally: EpochTally): EpochMetrics {
  const { options, clock } = plan;
  const { model, inputShape, evalBatchSize } = options;
  const seconds = (clock() - tally.start) / 1000;
  const evalStart = clock();
  plan.callbacks.onEvaluate?.(options.validation.count);
  const val = evaluate(model, options.validation, inputShape, evalBatchSize);
  const test = options.test ? evaluate(model, options.test, inputShape, evalBatchSize) : undefined;
  return {
    epoch: epoch + 1,
    trainLoss: tally.lossSum / tally.seen,
    trainAcc: tally.correct / tally.seen,
    valLoss: val.loss,
    valAcc: val.acc,
    ...(test ? { testLoss: test.loss, testAcc: test.acc } : {}),
    seconds,
    imagesPerSecond: tally.seen / seconds,
    maskUpdateSeconds: tally.maskSeconds,
    evalSeconds: (clock() - evalStart) / 1000,
    learningRate: tally.rate,
  };
}

/** Throws DivergedError when `metrics` meet the divergence rule ({@link TrainOptions.divergence}). */
function checkDivergence(
  plan: RunPlan,
  state: RunState,
  metrics: EpochMetrics,
  output: RunOutput | undefined,
): void {
  const { options } = plan;
  const first = state.history[0];
  const classes = options.model.outputs[0]?.shape.at(-1) ?? 0;
  if (options.divergence === false || !hasDiverged(first, metrics, classes)) return;
  const epoch = metrics.epoch;
  const kept = output
    ? ` The last good checkpoint (epoch ${epoch - 1}) is kept in ${output.folder.dir}.`
    : '';
  throw new DivergedError(
    epoch,
    `Training diverged at epoch ${epoch}: loss ${metrics.trainLoss.toFixed(4)} is not below ` +
      `the first epoch's ${first!.trainLoss.toFixed(4)} and validation accuracy ` +
      `${(100 * metrics.valAcc).toFixed(2)}% is chance level (1/${classes}).${kept} Lower the ` +
      'learning rate and train into a new folder (or with --overwrite).',
  );
}

/** Writes metrics.jsonl, sparsity.jsonl and the checkpoint after `epochsDone` epochs. */
async function saveProgress(
  plan: RunPlan,
  state: RunState,
  output: RunOutput,
  epochsDone: number,
): Promise<void> {
  const { folder, files } = output;
  const { history, sparsity } = state;
  await folder.writeMetrics(history);
  await folder.writeSparsity(sparsity);
  const checkpoint: CheckpointState = {
    version: 1,
    epochsDone,
    step: state.step,
    rng: state.rng.getState(),
    hooks: Object.fromEntries(
      plan.hooks.filter((k) => k.getState).map((k) => [k.name, k.getState!()]),
    ),
    extra: { history, sparsity },
  };
  await files.saveCheckpoint(folder.dir, plan.options.model, plan.optimizer, checkpoint);
}

function trainResult(state: RunState): TrainResult {
  const { history } = state;
  const last = history[history.length - 1]!;
  return {
    epochs: history,
    sparsity: state.sparsity,
    steps: state.step,
    trainSeconds: history.reduce((s, m) => s + m.seconds, 0),
    maskUpdateSeconds: history.reduce((s, m) => s + m.maskUpdateSeconds, 0),
    final: { loss: last.valLoss, acc: last.valAcc },
  };
}

/**
 * Trains `model` with Adam on sparse categorical cross-entropy, like Keras's `model.fit` with
 * `shuffle=True` and the test set as validation data. With the same seed, backend and options, two runs
 * produce the same weights. With `runDir`, every epoch ends with a checkpoint, so `resume` continues an
 * interrupted run.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  validate(options);
  const plan = planRun(options);
  const output = await openRunOutput(options);
  if (getBackend() === 'cpu') {
    plan.callbacks.onWarning?.(
      'training on tfjs-cpu, about 100x slower than wasm: call `await initBackend()` from dynaprune ' +
        'before building the model (it picks tfjs-node, else wasm with the training kernels).',
    );
  }
  const state = await startingState(plan, output);
  beginHooks(plan, state);
  // Any mask write during training (a hook's algorithm, setSparsity...) resets the moments it touches.
  const releaseMoments = resetMomentsOnMaskWrites(plan.optimizer);
  const batches = batchSource(options, state.rng);
  try {
    const pause = eventLoopBreaks();
    for (let epoch = state.startEpoch; epoch < options.epochs; epoch++) {
      const tally = await trainEpoch(plan, state, batches, epoch, pause);
      const metrics = epochMetrics(plan, epoch, tally);
      checkDivergence(plan, state, metrics, output);
      state.history.push(metrics);
      plan.callbacks.onEpochEnd?.(metrics);
      if (output) await saveProgress(plan, state, output, epoch + 1);
      // Honoured only here, after the checkpoint: a resumed run sees the same batches from the next epoch.
      if (options.signal?.aborted && epoch < options.epochs - 1) {
        throw new TrainingStoppedError(epoch + 1, options.epochs, output?.folder.dir);
      }
    }
  } finally {
    releaseMoments();
    plan.optimizer.dispose();
  }
  return trainResult(state);
}
