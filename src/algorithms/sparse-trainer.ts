// Runs a sparse-training algorithm on a model: as a training-loop hook, a model.fit callback, or a step function.
import {
  CustomCallback,
  tidy,
  variableGrads,
  type LayersModel,
  type Optimizer,
  type Scalar,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { maskedLayers } from '../layers/index.js';
import { keepingMovingStatistics } from '../layers/batch-norm.js';
import { batchMaskWrites, MaskedLayer } from '../layers/masked-layer.js';
import type { SparsityRecord, StepEndInfo, TrainBeginInfo, TrainingHook } from '../train/hooks.js';
import { sparseCategoricalCrossentropy } from '../train/loss.js';
import { Random } from '../util/random.js';
import {
  neverSchedule,
  type LayerView,
  type SparseAlgorithm,
  type UpdateContext,
  type UpdateResult,
} from './algorithm.js';
import { plannedUpdates } from './schedules.js';
import { resetMomentsOnMaskWrites } from '../train/optimizer-state.js';

export interface SparseTrainerOptions {
  /** The run's generator; default a Random seeded with 0. */
  readonly rng?: Random;
  /**
   * The optimizer whose moments are reset wherever a mask changes (default: the model's compiled
   * optimizer; inside dynaprune's `train()`, the loop's own).
   */
  readonly optimizer?: Optimizer;
  /**
   * The loss for algorithms that need gradients (RigL): from model outputs and labels to a scalar.
   * Default: sparse categorical cross-entropy on softmax outputs.
   */
  readonly loss?: (outputs: Tensor, labels: Tensor) => Tensor;
}

/** One call of {@link SparseTrainer.step} in a custom loop. */
export interface StepArgs {
  /** Optimizer steps completed so far (1 after the first). */
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch?: number;
  /** The current batch, needed only by algorithms that use gradients (RigL). */
  readonly batch?: { readonly x: Tensor; readonly y: Tensor };
}

/**
 * Applies `algorithm` to the dynamic layers of `model`. Use it in one of three ways:
 * - as a {@link TrainingHook} of dynaprune's `train()` (`hooks: [trainer]`);
 * - in a custom loop: call {@link SparseTrainer.step} after each optimizer step;
 * - with `model.fit`: `callbacks: [trainer.fitCallback({ totalSteps })]`.
 * Every mask change yields a {@link SparsityRecord}; `records` keeps them all.
 */
export class SparseTrainer implements TrainingHook {
  readonly name: string;
  readonly records: SparsityRecord[] = [];
  private rng: Random;
  private optimizer: Optimizer | undefined;
  private readonly loss: (outputs: Tensor, labels: Tensor) => Tensor;
  private watched: { optimizer: Optimizer; release: () => void } | undefined;

  constructor(
    readonly model: LayersModel,
    readonly algorithm: SparseAlgorithm,
    options: SparseTrainerOptions = {},
  ) {
    this.name = algorithm.name;
    this.rng = options.rng ?? new Random(0);
    this.optimizer = options.optimizer;
    this.loss = options.loss ?? sparseCategoricalCrossentropy;
  }

  /** The model's dynamic layers. */
  get layers(): MaskedLayer[] {
    return maskedLayers(this.model);
  }

  /** The state of every dynamic layer now, as a sparsity.jsonl record. */
  snapshot(
    step: number,
    epoch: number,
    facts: Readonly<Record<string, unknown>> = {},
  ): SparsityRecord {
    const layers = this.layers.map((l) => {
      const size = l.kernelSize;
      const nnz = l.nnz;
      return { name: l.name, size, nnz, sparsity: 1 - nnz / size };
    });
    const size = layers.reduce((a, l) => a + l.size, 0);
    const nnz = layers.reduce((a, l) => a + l.nnz, 0);
    return { step, epoch, globalSparsity: size === 0 ? 0 : 1 - nnz / size, layers, ...facts };
  }

  /** Runs the algorithm now if its schedule says so; returns the record, or undefined if nothing ran. */
  step(args: StepArgs): SparsityRecord | undefined {
    if (!this.algorithm.schedule.shouldUpdate(args.step, args.totalSteps)) return undefined;
    const result = this.apply((context) => this.algorithm.update(context), args);
    return result;
  }

  /** Runs the algorithm's end-of-training action (one-shot pruning), if it has one. */
  finish(args: StepArgs): SparsityRecord | undefined {
    const finalize = this.algorithm.finalize?.bind(this.algorithm);
    if (finalize === undefined) return undefined;
    return this.apply((context) => finalize(context), args);
  }

  private apply(
    run: (context: UpdateContext) => UpdateResult | undefined,
    args: StepArgs,
  ): SparsityRecord | undefined {
    const layers = this.layers;
    const views: LayerView[] = layers.map((layer) => ({
      layer,
      name: layer.name,
      size: layer.kernelSize,
      kernel: layer.getKernel(),
      mask: layer.getMask(),
    }));
    let gradients: ReadonlyMap<string, Float32Array> | undefined;
    const context: UpdateContext = {
      step: args.step,
      epoch: args.epoch ?? 0,
      totalSteps: args.totalSteps,
      layers: views,
      rng: this.rng,
      gradients: () => {
        if (this.algorithm.usesDenseGradients !== true) {
          throw new Error(
            `${this.algorithm.name} reads dense gradients without declaring usesDenseGradients.`,
          );
        }
        return (gradients ??= this.denseGradients(layers, args.batch));
      },
    };
    // One batch of writes: the optimizer subscription hears once per layer where its mask differs after
    // the update from before it.
    const result = batchMaskWrites(() => {
      const chosen = run(context);
      if (chosen === undefined) return undefined;
      this.watchOptimizer();
      for (const view of views) view.layer.writeMaskAndKernel(view.mask, view.kernel);
      return chosen;
    });
    if (result === undefined) return undefined;
    const record = this.snapshot(args.step, args.epoch ?? 0, result.facts);
    this.records.push(record);
    return record;
  }

  /**
   * How many mask updates the schedule will make over `totalSteps`, for the initial record, with a
   * `warning` when the run is too short for any (say it once, rather than train silently unchanged).
   */
  scheduleFacts(totalSteps: number): Record<string, unknown> {
    if (this.algorithm.schedule === neverSchedule) return {};
    const planned = plannedUpdates(this.algorithm.schedule, totalSteps);
    return {
      plannedUpdates: planned,
      ...(planned === 0
        ? {
            warning:
              `${this.algorithm.name} will not change any mask: its schedule makes no update in a run of ` +
              `${totalSteps} steps (first period ${this.algorithm.schedule.periodAt(1, totalSteps)}). ` +
              'Train longer or pass a shorter period.',
          }
        : {}),
    };
  }

  /**
   * Subscribes the optimizer (the given one, else the model's compiled one) to mask writes, once, so its
   * moments are reset at every changed position, whoever writes the mask. Throws when there is none:
   * without it Adam's stale moments would move pruned weights and bias where RigL grows.
   */
  private watchOptimizer(): void {
    const optimizer = this.optimizer ?? (this.model.optimizer as Optimizer | undefined);
    if (optimizer === undefined) {
      throw new InvalidArgumentError(
        `${this.algorithm.name} changed masks, but SparseTrainer knows no optimizer whose moments to reset: ` +
          'pass new SparseTrainer(model, algorithm, { optimizer }) or compile the model first.',
      );
    }
    if (this.watched?.optimizer === optimizer) return;
    this.watched?.release();
    this.watched = { optimizer, release: resetMomentsOnMaskWrites(optimizer) };
  }

  /** Stops resetting the optimizer's moments on mask writes (training is over). */
  dispose(): void {
    this.watched?.release();
    this.watched = undefined;
  }

  /**
   * ∂loss/∂(effective kernel) for every dynamic layer on the batch, dense (masked positions included),
   * through the layers' explicit request ({@link MaskedLayer.withDenseKernelGradients}): one extra
   * forward and backward pass on the dense kernels that writes no mask, so no sparse layout is rebuilt
   * for it and only the layers whose masks the update then changes build a new one. The pass runs in
   * training mode, so BatchNorm normalizes with the batch's statistics as the training step did, but
   * its moving averages are left as they were: the pass is not a training step.
   */
  private denseGradients(
    layers: readonly MaskedLayer[],
    batch: StepArgs['batch'],
  ): Map<string, Float32Array> {
    if (batch === undefined) {
      throw new Error(
        `${this.algorithm.name} needs the current batch to compute gradients; pass step({ batch }).`,
      );
    }
    const out = new Map<string, Float32Array>();
    MaskedLayer.withDenseKernelGradients(layers, () =>
      keepingMovingStatistics(this.model, () =>
        tidy(() => {
          const kernels = layers.map((l) => l.kernelVariable.read() as Variable);
          const { grads } = variableGrads(
            () =>
              this.loss(this.model.apply(batch.x, { training: true }) as Tensor, batch.y) as Scalar,
            kernels,
          );
          layers.forEach((l, i) =>
            out.set(l.name, Float32Array.from(grads[kernels[i]!.name]!.dataSync())),
          );
        }),
      ),
    );
    return out;
  }

  // TrainingHook

  onTrainBegin(info: TrainBeginInfo): SparsityRecord {
    this.rng = info.rng;
    this.optimizer = info.optimizer;
    // The training loop already resets this optimizer's moments on every mask write.
    this.dispose();
    this.watched = { optimizer: info.optimizer, release: () => undefined };
    const record = this.snapshot(info.startStep, Math.floor(info.startStep / info.stepsPerEpoch), {
      initial: true,
      ...this.scheduleFacts(info.totalSteps),
    });
    if (info.startStep === 0) this.records.push(record);
    return record;
  }

  onStepEnd(info: StepEndInfo): SparsityRecord | void {
    return this.step({
      step: info.step,
      totalSteps: info.totalSteps,
      epoch: info.epoch,
      batch: { x: info.x, y: info.y },
    });
  }

  onTrainEnd(info: { readonly step: number; readonly epoch: number }): SparsityRecord | void {
    return this.finish({ step: info.step, totalSteps: info.step, epoch: info.epoch });
  }

  getState(): unknown {
    return this.algorithm.getState();
  }

  setState(state: unknown): void {
    this.algorithm.setState(state as Record<string, unknown>);
  }

  /**
   * A `model.fit` callback: counts steps and runs the algorithm after each batch. Algorithms that need
   * gradients (RigL) also need `batch`, which provides the data to compute them on.
   */
  fitCallback(options: {
    readonly totalSteps: number;
    readonly batch?: () => { x: Tensor; y: Tensor };
  }): CustomCallback {
    let step = 0;
    let epoch = 0;
    return new CustomCallback({
      onTrainBegin: async () => {
        this.optimizer ??= this.model.optimizer;
        // setSparsity calls during fit reset the moments too, not only this trainer's updates.
        this.watchOptimizer();
        if (this.records.length === 0) {
          const facts = { initial: true, ...this.scheduleFacts(options.totalSteps) };
          this.records.push(this.snapshot(0, 0, facts));
        }
      },
      onEpochBegin: async (e) => {
        epoch = e;
      },
      onBatchEnd: async () => {
        step++;
        const batch = options.batch?.();
        this.step({ step, totalSteps: options.totalSteps, epoch, ...(batch ? { batch } : {}) });
      },
      onTrainEnd: async () => {
        this.finish({ step, totalSteps: options.totalSteps, epoch });
        this.dispose();
      },
    });
  }
}
