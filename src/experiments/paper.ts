// The paper's comparison end to end: the Keras baseline, the DSR model at the same budget, prune-after-training.
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSparse, toLayersModel } from '../convert/export.js';
import { modelToGraph } from '../convert/to-graph.js';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { registerDynamicLayers } from '../layers/register.js';
import { getModel, PAPER_CNN_WIDE_DEFAULT_WIDTH } from '../models/registry.js';
import type { DistributionName } from '../sparsity/distributions.js';
import { describeMachine } from './machine.js';
import { folderHandler, savedModelBytes } from '../train/model-files.js';
import {
  multiplyAddsPerImage,
  nonzeroTrainableParameters,
  sparsityForBudget,
} from './model-stats.js';
import { InvalidArgumentError } from '../errors.js';
import { loadDataset } from '../data/registry.js';
import type { Dataset } from '../data/types.js';
import {
  hasBatchNorm,
  recalibrateAndEvaluate,
  recalibrationLine,
} from '../train/batch-norm-stats.js';
import {
  loadFinishedRun,
  runTraining,
  type AugmentKind,
  type TrainingRunConfig,
  type TrainingRunEvents,
} from './experiment.js';
import type { LearningRateSchedule } from '../train/trainer.js';
import { PAPER_NUMBERS, type ModelSummary, type PaperSummary } from '../report/summary.js';
import { measureLatency } from './latency.js';

/** The paper CNN's parameter count: the budget the dynamic model must fit (nonzeros). */
export const PAPER_BUDGET = 122_570;

export { PAPER_NUMBERS };
export type { ModelSummary, PaperSummary };

export interface PaperOptions {
  readonly out: string;
  readonly dataDir?: string;
  /** 5,000 training images and 2 epochs, for a first look in a few minutes. */
  readonly quick: boolean;
  readonly backend: BackendRequest;
  readonly seed: number;
  /** Default 10 (2 with quick). */
  readonly epochs?: number;
  /** Default all (5,000 with quick). */
  readonly trainLimit?: number;
  /** Default all. */
  readonly testLimit?: number;
  /** paper-cnn-wide's width multiplier (default 3). */
  readonly width?: number;
  /** The dynamic model's learning-rate schedule (default cosine). */
  readonly dsrLearningRateSchedule?: LearningRateSchedule;
  /**
   * Augmentation of the dynamic and one-shot models' training images (default crop-flip; the baseline,
   * the paper's reproduction, never augments).
   */
  readonly augment?: AugmentKind;
  /** How the sparse models share their nonzeros between layers (default uniform). */
  readonly distribution?: DistributionName;
  /** One-shot: epochs of fine-tuning after pruning, taken out of the same epoch budget (default 1). */
  readonly oneshotFinetuneEpochs?: number;
  /**
   * Reuse a model's run folder when it holds a finished run with the same definition, instead of
   * training it again (after an interruption, or when another process trained it with `only`).
   */
  readonly reuse?: boolean;
  /**
   * After training, re-estimate the BatchNorm statistics of the models that have BatchNorm from this many
   * clean training images (default 10,000, at most the training set; 0 turns it off). See
   * `recalibrateBatchNorm`. The test accuracy before it is kept in the summary.
   */
  readonly batchNormRecalibration?: number;
  /** Train and report only these models (ids: baseline, dsr, oneshot); default all three. */
  readonly only?: readonly PaperModelId[];
}

export const paperModelIds = ['baseline', 'dsr', 'oneshot'] as const;
export type PaperModelId = (typeof paperModelIds)[number];

export interface PaperEvents extends TrainingRunEvents {
  onModelBegin?(index: number, count: number, id: string, label: string, epochs: number): void;
}

/** The sparsity at which paper-cnn-wide (width `width`) fits the paper CNN's nonzero budget. */
export function budgetSparsity(width: number, distribution: DistributionName = 'uniform'): number {
  const model = getModel('paper-cnn-wide').build({
    inputShape: [32, 32, 3],
    numClasses: 10,
    seed: 0,
    width,
  });
  const sparse = model.layers
    .filter((l) => l.getClassName() === 'Conv2D' || l.getClassName() === 'Dense')
    .map((l) => ({ name: l.name, shape: l.getWeights()[0]!.shape }));
  const kernels = sparse.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
  const trainable = model.trainableWeights.reduce(
    (a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 1), 1),
    0,
  );
  model.dispose();
  return sparsityForBudget(sparse, trainable - kernels, PAPER_BUDGET, distribution);
}

async function loadRunModel(runDir: string): Promise<LayersModel> {
  registerDynamicLayers();
  return loadLayersModel(folderHandler(join(runDir, 'model')));
}

/**
 * Trains the three models one after another, exports each as a CSR container, measures sizes,
 * multiply-adds and inference latency, and returns the summary the report is made from.
 */
export async function runPaperComparison(
  options: PaperOptions,
  events: PaperEvents = {},
): Promise<PaperSummary> {
  const started = Date.now();
  const epochs = options.epochs ?? (options.quick ? 2 : 10);
  const trainLimit = options.trainLimit ?? (options.quick ? 5000 : undefined);
  const width = options.width ?? PAPER_CNN_WIDE_DEFAULT_WIDTH;
  const distribution = options.distribution ?? 'uniform';
  const sparsity = budgetSparsity(width, distribution);
  const finetune = Math.min(options.oneshotFinetuneEpochs ?? 1, epochs - 1);
  const common = {
    dataset: 'cifar10',
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    batchSize: 32,
    learningRate: 1e-3,
    ...(trainLimit !== undefined ? { trainLimit } : {}),
    ...(options.testLimit !== undefined ? { testLimit: options.testLimit } : {}),
    backend: options.backend,
    seed: options.seed,
    resume: false,
    // Without --reuse the comparison retrains every model, replacing an earlier one in the same folder.
    overwrite: true,
  } as const;
  // Quick runs are ~300 steps: BatchNorm's moving statistics need a faster average to settle (types.ts).
  const quickBatchNorm = options.quick ? { batchNormMomentum: 0.9 } : {};
  const fullPlan: { id: PaperModelId; label: string; config: TrainingRunConfig }[] = [
    {
      id: 'baseline',
      label: 'Keras CNN (paper baseline, dense)',
      config: {
        ...common,
        model: 'paper-cnn',
        method: 'dense',
        epochs,
        augment: 'none',
        out: join(options.out, 'runs', 'baseline'),
      },
    },
    {
      id: 'dsr',
      label: `Dynamic pruning: ${width}x-wide CNN, DSR`,
      config: {
        ...common,
        model: 'paper-cnn-wide',
        width,
        ...quickBatchNorm,
        method: 'dsr',
        sparsity,
        distribution,
        epochs,
        augment: options.augment ?? 'crop-flip',
        learningRateSchedule: options.dsrLearningRateSchedule ?? 'cosine',
        out: join(options.out, 'runs', 'dsr'),
      },
    },
    {
      id: 'oneshot',
      label: `Prune after training: ${width}x-wide CNN, one-shot magnitude`,
      config: {
        ...common,
        model: 'paper-cnn-wide',
        width,
        ...quickBatchNorm,
        method: 'oneshot',
        sparsity,
        distribution,
        epochs: epochs - finetune,
        finetuneEpochs: finetune,
        augment: options.augment ?? 'crop-flip',
        learningRateSchedule: options.dsrLearningRateSchedule ?? 'cosine',
        out: join(options.out, 'runs', 'oneshot'),
      },
    },
  ];

  const plan = fullPlan.filter((p) => options.only === undefined || options.only.includes(p.id));
  if (plan.length === 0) throw new InvalidArgumentError('`only` names none of the three models.');
  const models: ModelSummary[] = [];
  let backendName = '';
  const recalibrationImages = options.batchNormRecalibration ?? 10_000;
  let data: Dataset | undefined;
  const dataset = async (): Promise<Dataset> =>
    (data ??= await loadDataset('cifar10', {
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(trainLimit !== undefined ? { trainLimit } : {}),
      ...(options.testLimit !== undefined ? { testLimit: options.testLimit } : {}),
    }));
  for (const [index, { id, label, config }] of plan.entries()) {
    events.onModelBegin?.(index + 1, plan.length, id, label, epochs);
    const finished = options.reuse ? await loadFinishedRun(config) : undefined;
    if (finished) {
      // The model is still loaded, exported and timed here: that needs the backend runTraining would pick.
      await initBackend(config.backend);
      events.onLog?.(`reusing the finished run in ${config.out}`);
    }
    const result = finished ?? (await runTraining(config, events));
    backendName = result.backend;
    const model = await loadRunModel(result.outDir);
    // Loads the dataset only for models that have BatchNorm to recalibrate.
    const recalibrated =
      recalibrationImages > 0 && hasBatchNorm(model)
        ? recalibrateAndEvaluate(model, await dataset(), recalibrationImages, result.final)
        : undefined;
    const final = recalibrated?.final ?? result.final;
    const batchNormRecalibration = recalibrated?.record;
    if (recalibrated) {
      await writeFile(
        join(result.outDir, 'batchnorm-recalibration.json'),
        JSON.stringify(
          { ...recalibrated.record, testAcc: final.acc, testLoss: final.loss },
          null,
          2,
        ) + '\n',
      );
      events.onLog?.(recalibrationLine(`${id}: `, recalibrated.record, final.acc));
    }
    const container = exportSparse(model, { values: 'fp32' });
    await writeFile(join(result.outDir, 'model.dpr'), container);
    const graph = modelToGraph(model);
    const dense = toLayersModel(graph);
    const scratch = await mkdtemp(join(tmpdir(), 'dynaprune-dense-'));
    await dense.save(folderHandler(scratch));
    const denseBytes = await savedModelBytes(scratch);
    await rm(scratch, { recursive: true, force: true });
    const macs = multiplyAddsPerImage(graph);
    const latency = await measureLatency(graph, dense);
    models.push({
      id,
      label,
      model: config.model,
      method: config.method ?? 'dense',
      testAcc: final.acc,
      testLoss: final.loss,
      ...(batchNormRecalibration ? { batchNormRecalibration } : {}),
      nnz: nonzeroTrainableParameters(model),
      totalParams: model.trainableWeights.reduce(
        (a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 1), 1),
        0,
      ),
      denseBytes,
      storedBytes: container.length,
      trainSeconds: result.trainSeconds,
      maskUpdateSeconds: result.maskUpdateSeconds,
      macsPerImage: macs.sparse,
      denseMacsPerImage: macs.dense,
      inferMsPerImage: latency.msPerImage,
      inferEngine: latency.engine,
      denseInferMsPerImage: latency.denseMsPerImage,
      denseInferEngine: latency.denseEngine,
      epochs: result.epochs,
      sparsityHistory: result.sparsity,
      runDir: result.outDir,
      recipe: {
        epochs: config.epochs + (config.finetuneEpochs ?? 0),
        learningRate: config.learningRate,
        learningRateSchedule: config.learningRateSchedule ?? 'constant',
        augment: config.augment,
        ...(config.sparsity !== undefined ? { sparsity: config.sparsity } : {}),
        ...(config.distribution !== undefined ? { distribution: config.distribution } : {}),
        ...(config.width !== undefined ? { width: config.width } : {}),
        ...(config.batchNormMomentum !== undefined
          ? { batchNormMomentum: config.batchNormMomentum }
          : {}),
        ...(config.finetuneEpochs ? { finetuneEpochs: config.finetuneEpochs } : {}),
      },
    });
    model.dispose();
    dense.dispose();
  }
  return {
    createdAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
    machine: describeMachine(),
    backend: backendName,
    quick: options.quick,
    dataset: 'cifar10',
    budget: PAPER_BUDGET,
    models,
    paper: PAPER_NUMBERS,
    wallSeconds: (Date.now() - started) / 1000,
  };
}
