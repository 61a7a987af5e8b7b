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

/**
 * Trains `model` with Adam on sparse categorical cross-entropy, like Keras's `model.fit` with
 * `shuffle=True` and the test set as validation data. With the same seed, backend and options, two runs
 * produce the same weights. With `runDir`, every epoch ends with a checkpoint, so `resume` continues an
 * interrupted run.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  validate(options);
  const { model, epochs, batchSize, inputShape, hooks = [], callbacks = {} } = options;
  const clock = options.clock ?? (() => performance.now());
  const [h, w, c] = inputShape;
  const pixels = h * w * c;
  const trainCount = options.train.count;
  const stepsPerEpoch = Math.ceil(trainCount / batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  const weightDecay = options.weightDecay ?? 0;
  // Decay applies to kernels only, not to biases, BatchNorm parameters or masks (which never train).
  const decayed = model.trainableWeights
    .filter((w) => /\/kernel(_\d+)?$/.test(w.originalName))
    .map((w) => w.read() as Variable);
  // Kernels on the sparse path take their decay inside the optimizer, at their active positions only.
  const sparseDecay = { weightDecay, decayed: new Set(decayed.map((k) => k.name)) };
  // tfjs's Adam and momentum SGD, fused on the wasm backend, and updating sparse-path kernels in place
  // at their active positions (the same steps).
  const optimizer: Optimizer =
    (options.optimizer ?? 'adam') === 'adam'
      ? new FusedAdamOptimizer(options.learningRate, 0.9, 0.999, currentBackend().epsilon(), {
          sparseDecay,
        })
      : new FusedMomentumOptimizer(options.learningRate, options.momentum ?? 0.9, false, {
          sparseDecay,
        });
  const schedule = options.learningRateSchedule ?? 'constant';
  for (const layer of maskedLayers(model)) layer.kernelMode = options.kernels ?? 'auto';
  const variables = model.trainableWeights.map((v) => v.read() as Variable);
  // Run folders and checkpoints use node:fs, loaded only when asked; browser bundles get a stand-in that refuses.
  const files = options.runDir === undefined ? undefined : await import('#platform/run-files');
  const run: RunFolder | undefined =
    files && options.runDir !== undefined ? new files.RunFolder(options.runDir) : undefined;

  if (getBackend() === 'cpu') {
    callbacks.onWarning?.(
      'training on tfjs-cpu, about 100x slower than wasm: call `await initBackend()` from dynaprune ' +
        'before building the model (it picks tfjs-node, else wasm with the training kernels).',
    );
  }
  let rng = new Random(options.seed);
  let step = 0;
  let startEpoch = 0;
  const history: EpochMetrics[] = [];
  const sparsity: SparsityRecord[] = [];
  if (run && files && options.resume && (await files.hasCheckpoint(run.dir))) {
    const state = await files.loadCheckpoint(run.dir, model, optimizer);
    rng = Random.fromState(state.rng);
    step = state.step;
    startEpoch = state.epochsDone;
    history.push(...((state.extra['history'] as EpochMetrics[] | undefined) ?? []));
    const restored = (state.extra['sparsity'] as SparsityRecord[] | undefined) ?? [];
    // The checkpoint's records may name the layers with another process's counter.
    sparsity.push(
      ...renameRecordLayers(
        restored,
        maskedLayers(model).map((l) => l.name),
      ),
    );
    for (const hook of hooks) {
      if (hook.setState && state.hooks[hook.name] !== undefined)
        hook.setState(state.hooks[hook.name]);
    }
  }

  const record = (r: SparsityRecord | void): boolean => {
    if (!r) return false;
    sparsity.push(r);
    callbacks.onSparsity?.(r);
    return true;
  };
  for (const hook of hooks) {
    const r = hook.onTrainBegin?.({
      model,
      optimizer,
      stepsPerEpoch,
      totalSteps,
      startStep: step,
      rng,
    });
    // After a resume the initial record is already in the restored history.
    if (step === 0) record(r);
  }

  // Any mask write during training (a hook's algorithm, setSparsity...) resets the moments it touches.
  const releaseMoments = resetMomentsOnMaskWrites(optimizer);
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const x = new Float32Array(batchSize * pixels);
  const y = new Int32Array(batchSize);
  const augmenter = options.augmentation ? new Augmenter(rng, options.augmentation) : undefined;

  try {
    let lastYield = performance.now();
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      callbacks.onEpochBegin?.(epoch + 1, epochs);
      // Each epoch shuffles the identity order, so the order depends only on the generator's state,
      // which checkpoints hold: a resumed run sees the same batches as an uninterrupted one.
      for (let i = 0; i < trainCount; i++) order[i] = i;
      rng.shuffle(order);
      const epochStart = clock();
      let rate = options.learningRate;
      let maskSeconds = 0;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const start = b * batchSize;
        const size = Math.min(batchSize, trainCount - start);
        makeBatch(options.train, inputShape, order.subarray(start, start + size), {
          into: { images: x, labels: y },
          ...(augmenter ? { augment: augmenter } : {}),
        });
        const xs = tensor4d(x.subarray(0, size * pixels), [size, h, w, c]);
        const ys = tensor1d(y.subarray(0, size), 'int32');
        rate = learningRateAt(
          schedule,
          options.learningRate,
          (options.learningRateSteps?.offset ?? 0) + step,
          options.learningRateSteps?.total ?? totalSteps,
        );
        // tfjs optimizers read their rate on every step; there is no public setter.
        if (schedule !== 'constant')
          (optimizer as unknown as { learningRate: number }).learningRate = rate;
        let right: Scalar | undefined;
        let sparseDecaySum = 0;
        const cost = optimizer.minimize(
          () => {
            const probs = model.apply(xs, { training: true }) as Tensor;
            // minimize() runs f in a scope that frees what f creates; keep the count for after.
            right = keep(countCorrect(probs, ys));
            const loss = sparseCategoricalCrossentropy(probs, ys);
            if (weightDecay === 0) return loss;
            // The forward pass has chosen each layer's path: sparse-path kernels decay in the optimizer,
            // and their term of the reported loss is read at their active positions.
            const split = splitDecayed(decayed);
            sparseDecaySum = split.sparseSumSquares;
            if (split.dense.length === 0) return loss;
            return add(
              loss,
              mul(weightDecay / 2, addN(split.dense.map((k) => sum(square(k))))),
            ) as Scalar;
          },
          true,
          variables,
        )!;
        const loss = cost.dataSync()[0]! + (weightDecay / 2) * sparseDecaySum;
        const hits = right!.dataSync()[0]!;
        cost.dispose();
        right!.dispose();
        step++;
        if (!Number.isFinite(loss)) {
          xs.dispose();
          ys.dispose();
          throw new NonFiniteLossError(step, loss);
        }
        for (const hook of hooks) {
          if (!hook.onStepEnd) continue;
          const t0 = clock();
          const r = hook.onStepEnd({ step, epoch, totalSteps, x: xs, y: ys });
          if (record(r)) maskSeconds += (clock() - t0) / 1000;
        }
        xs.dispose();
        ys.dispose();
        lossSum += loss * size;
        correct += hits;
        seen += size;
        const elapsed = (clock() - epochStart) / 1000;
        if (performance.now() - lastYield > 100) {
          // Let signals (Ctrl-C) and timers run during long epochs; the loop is otherwise synchronous.
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
        }
        callbacks.onBatchEnd?.({
          epoch: epoch + 1,
          epochs,
          batch: b + 1,
          batches: stepsPerEpoch,
          imagesPerSecond: elapsed > 0 ? seen / elapsed : 0,
          elapsedSeconds: elapsed,
          loss: lossSum / seen,
          acc: correct / seen,
        });
      }
      if (epoch === epochs - 1) {
        for (const hook of hooks) {
          if (!hook.onTrainEnd) continue;
          const t0 = clock();
          if (record(hook.onTrainEnd({ step, epoch }))) maskSeconds += (clock() - t0) / 1000;
        }
      }
      const seconds = (clock() - epochStart) / 1000;
      const evalStart = clock();
      callbacks.onEvaluate?.(options.validation.count);
      const val = evaluate(model, options.validation, inputShape, options.evalBatchSize);
      const test = options.test
        ? evaluate(model, options.test, inputShape, options.evalBatchSize)
        : undefined;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        trainLoss: lossSum / seen,
        trainAcc: correct / seen,
        valLoss: val.loss,
        valAcc: val.acc,
        ...(test ? { testLoss: test.loss, testAcc: test.acc } : {}),
        seconds,
        imagesPerSecond: seen / seconds,
        maskUpdateSeconds: maskSeconds,
        evalSeconds: (clock() - evalStart) / 1000,
        learningRate: rate,
      };
      const classes = model.outputs[0]?.shape.at(-1) ?? 0;
      if (options.divergence !== false && hasDiverged(history[0], metrics, classes)) {
        const kept = run ? ` The last good checkpoint (epoch ${epoch}) is kept in ${run.dir}.` : '';
        throw new DivergedError(
          epoch + 1,
          `Training diverged at epoch ${epoch + 1}: loss ${metrics.trainLoss.toFixed(4)} is not below ` +
            `the first epoch's ${history[0]!.trainLoss.toFixed(4)} and validation accuracy ` +
            `${(100 * metrics.valAcc).toFixed(2)}% is chance level (1/${classes}).${kept} Lower the ` +
            'learning rate and train into a new folder (or with --overwrite).',
        );
      }
      history.push(metrics);
      callbacks.onEpochEnd?.(metrics);
      if (run) {
        await run.writeMetrics(history);
        await run.writeSparsity(sparsity);
        const state: CheckpointState = {
          version: 1,
          epochsDone: epoch + 1,
          step,
          rng: rng.getState(),
          hooks: Object.fromEntries(
            hooks.filter((k) => k.getState).map((k) => [k.name, k.getState!()]),
          ),
          extra: { history, sparsity },
        };
        await files!.saveCheckpoint(run.dir, model, optimizer, state);
      }
      // Honoured only here, after the checkpoint: a resumed run sees the same batches from the next epoch.
      if (options.signal?.aborted && epoch < epochs - 1) {
        throw new TrainingStoppedError(epoch + 1, epochs, run?.dir);
      }
    }
  } finally {
    releaseMoments();
    optimizer.dispose();
  }
  const last = history[history.length - 1]!;
  return {
    epochs: history,
    sparsity,
    steps: step,
    trainSeconds: history.reduce((s, m) => s + m.seconds, 0),
    maskUpdateSeconds: history.reduce((s, m) => s + m.maskUpdateSeconds, 0),
    final: { loss: last.valLoss, acc: last.valAcc },
  };
}
