// The rows of the paper comparison at the paper CNN's budget, and the training run of each (row, seed).
import { join } from 'node:path';
import { GMP_DEFAULT_END_FRACTION } from '../algorithms/gmp.js';
import { InvalidArgumentError } from '../errors.js';
import { getModel, PAPER_CNN_WIDE_DEFAULT_WIDTH } from '../models/registry.js';
import type { DistributionName } from '../sparsity/distributions.js';
import { trainableParameters, type AugmentKind, type TrainingRunConfig } from './experiment.js';
import { multiplyAddsOfModel, sparsityForBudget } from './model-stats.js';
import { estimatedRunCost } from './paper-cost.js';
import type { BackendRequest } from '../engine/backend.js';
import type { LearningRateSchedule } from '../train/trainer.js';

/** The paper CNN's parameter count: the budget every sparse row must fit (nonzero trainable parameters). */
export const PAPER_BUDGET = 122_570;

/** CIFAR-10's training images. */
const CIFAR10_TRAIN = 50_000;

export const paperRowIds = [
  'keras-paper',
  'keras-recipe',
  'small-dense',
  'static',
  'static-erk',
  'set',
  'rigl',
  'gmp',
  'oneshot',
  'dsr',
  'dsr-no-realloc',
  'dense-wide',
] as const;
export type PaperRowId = (typeof paperRowIds)[number];

/** The rows `--quick` trains by default: the paper's three models, so a preview stays short. */
export const quickRowIds: readonly PaperRowId[] = ['keras-paper', 'dsr', 'oneshot'];

export interface PaperPlanOptions {
  readonly out: string;
  readonly dataDir?: string;
  readonly quick: boolean;
  readonly backend: BackendRequest;
  /** Threads per training run (wasm in Node); see TrainingRunConfig.threads. */
  readonly threads?: number;
  /** The first seed; the sparse and small rows run `seeds` seeds from it. */
  readonly seed: number;
  /** Seeds per row (default 3, 1 with quick); the dense 3×-wide upper bound runs one. */
  readonly seeds?: number;
  readonly epochs?: number;
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Held-out training images for validation (default 5,000; 1,000 with quick). */
  readonly validation?: number;
  readonly width?: number;
  readonly augment?: AugmentKind;
  readonly learningRateSchedule?: LearningRateSchedule;
  readonly distribution?: DistributionName;
  /** One-shot's fine-tuning epochs after pruning (default {@link oneshotFinetuneEpochs}). */
  readonly oneshotFinetuneEpochs?: number;
  readonly batchNormRecalibration?: number;
  /**
   * Sparse-aware initialization of every sparse row (`sparsify`'s sparseInit; Evci et al. 2022). Off by
   * default: measured on the validation split only, see docs/RESULTS.md §8.
   */
  readonly sparseInit?: boolean;
  /** Also evaluate the test set after every epoch (labelled as such; never used for choices). */
  readonly testEachEpoch?: boolean;
  readonly only?: readonly PaperRowId[];
  /** The command as the user typed it, for config.json. */
  readonly command?: string;
}

/** One training run of the plan. */
export interface PaperJob {
  readonly row: PaperRowId;
  readonly label: string;
  readonly seed: number;
  readonly config: TrainingRunConfig;
  /** Optimizer steps the run takes, fine-tuning included (for the overall progress). */
  readonly steps: number;
  /**
   * The run's estimated work in dense-path multiply-adds ({@link estimatedRunCost}): the longest runs start
   * first, and the ETA weighs each run's steps by it.
   */
  readonly cost: number;
}

/** paper-cnn-wide's trainable parameters at `width`. */
function wideParameters(width: number): number {
  const model = getModel('paper-cnn-wide').build({
    inputShape: [32, 32, 3],
    numClasses: 10,
    seed: 0,
    width,
  });
  const n = trainableParameters(model);
  model.dispose();
  return n;
}

/** Dense multiply-adds per CIFAR-10 image of the model a config trains. */
function denseMultiplyAdds(config: Pick<TrainingRunConfig, 'model' | 'width'>): number {
  const model = getModel(config.model).build({
    inputShape: [32, 32, 3],
    numClasses: 10,
    seed: 0,
    ...(config.width !== undefined ? { width: config.width } : {}),
  });
  const macs = multiplyAddsOfModel(model).dense;
  model.dispose();
  return macs;
}

/** The paper-cnn-wide width (two decimals) whose dense parameter count is closest to the budget. */
export function budgetWidth(): number {
  let lo = 0.1;
  let hi = 2;
  while (hi - lo > 0.005) {
    const mid = (lo + hi) / 2;
    if (wideParameters(mid) > PAPER_BUDGET) hi = mid;
    else lo = mid;
  }
  const candidates = [Math.floor(lo * 100) / 100, Math.ceil(hi * 100) / 100];
  return candidates.reduce((a, b) =>
    Math.abs(wideParameters(a) - PAPER_BUDGET) <= Math.abs(wideParameters(b) - PAPER_BUDGET)
      ? a
      : b,
  );
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
  const trainable = trainableParameters(model);
  model.dispose();
  return sparsityForBudget(sparse, trainable - kernels, PAPER_BUDGET, distribution);
}

interface RowSpec {
  readonly id: PaperRowId;
  readonly label: string;
  /** The run-specific part of the config. */
  readonly config: Partial<TrainingRunConfig>;
  /** The paper's own recipe (no augmentation, constant rate) instead of ours. */
  readonly paperRecipe?: boolean;
  readonly singleSeed?: boolean;
}

function rowSpecs(width: number, distribution: DistributionName): RowSpec[] {
  const wide = { model: 'paper-cnn-wide', width } as const;
  const sparsity = budgetSparsity(width, distribution);
  const sparse = (method: TrainingRunConfig['method']) =>
    ({ ...wide, method, sparsity, distribution }) as const;
  const small = budgetWidth();
  return [
    {
      id: 'keras-paper',
      label: "Keras CNN, the paper's recipe (dense)",
      config: { model: 'paper-cnn', method: 'dense' },
      paperRecipe: true,
    },
    {
      id: 'keras-recipe',
      label: 'Keras CNN, our recipe (dense)',
      config: { model: 'paper-cnn', method: 'dense' },
    },
    {
      id: 'small-dense',
      label: `Small dense CNN at the budget (width ${small})`,
      config: { model: 'paper-cnn-wide', width: small, method: 'dense' },
    },
    {
      id: 'static',
      label: `${width}x-wide, static random mask (${distribution})`,
      config: sparse('static'),
    },
    {
      id: 'static-erk',
      label: `${width}x-wide, static random mask (erk)`,
      config: {
        ...wide,
        method: 'static',
        sparsity: budgetSparsity(width, 'erk'),
        distribution: 'erk',
      },
    },
    { id: 'set', label: `${width}x-wide, SET`, config: sparse('set') },
    { id: 'rigl', label: `${width}x-wide, RigL`, config: sparse('rigl') },
    { id: 'gmp', label: `${width}x-wide, GMP (dense to sparse)`, config: sparse('gmp') },
    {
      id: 'oneshot',
      label: `${width}x-wide, one-shot prune + fine-tune`,
      config: sparse('oneshot'),
    },
    { id: 'dsr', label: `${width}x-wide, DSR`, config: sparse('dsr') },
    {
      id: 'dsr-no-realloc',
      label: `${width}x-wide, DSR without reallocation (ablation)`,
      config: { ...sparse('dsr'), dsrReallocation: false },
    },
    {
      id: 'dense-wide',
      label: `${width}x-wide, dense (upper bound, over budget)`,
      config: { ...wide, method: 'dense' },
      singleSeed: true,
    },
  ];
}

/** Every (row, seed) run of the comparison, in the order they should train. */
/**
 * One-shot's fine-tuning epochs in a run of `epochs`: as long as GMP trains at its final sparsity (the
 * last quarter), so the two pruning baselines get the same sparse fine-tuning, and at least one. With 10
 * epochs: 7 dense, then 3 fine-tuning on the continued schedule. A single epoch (the earlier default) left
 * seed 1 at 39.7% validation accuracy: pruning to the budget dropped it from 81.0% to 12.5%, and the
 * cosine schedule's last epoch (learning rate about 1e-5) could not recover it.
 */
export function oneshotFinetuneEpochs(epochs: number): number {
  return Math.max(1, Math.round((1 - GMP_DEFAULT_END_FRACTION) * epochs));
}

export function paperPlan(options: PaperPlanOptions): PaperJob[] {
  const epochs = options.epochs ?? (options.quick ? 2 : 10);
  const validation = options.validation ?? (options.quick ? 1_000 : 5_000);
  const trainLimit = options.trainLimit ?? (options.quick ? 5_000 : undefined);
  const testLimit = options.testLimit ?? (options.quick ? 2_000 : undefined);
  const seeds = options.seeds ?? (options.quick ? 1 : 3);
  const width = options.width ?? PAPER_CNN_WIDE_DEFAULT_WIDTH;
  const rows = options.only ?? (options.quick ? quickRowIds : paperRowIds);
  if (rows.length === 0) throw new InvalidArgumentError('The comparison needs at least one row.');
  const finetune = Math.min(
    options.oneshotFinetuneEpochs ?? oneshotFinetuneEpochs(epochs),
    epochs - 1,
  );
  const trainCount = Math.min(trainLimit ?? CIFAR10_TRAIN, CIFAR10_TRAIN - validation);
  const stepsPerEpoch = Math.ceil(trainCount / 32);
  const specs = rowSpecs(width, options.distribution ?? 'uniform').filter((s) =>
    rows.includes(s.id),
  );
  const macs = new Map<string, number>();
  const macsOf = (config: TrainingRunConfig): number => {
    const key = `${config.model} ${String(config.width)}`;
    if (!macs.has(key)) macs.set(key, denseMultiplyAdds(config));
    return macs.get(key)!;
  };
  return specs.flatMap((spec) =>
    Array.from({ length: spec.singleSeed ? 1 : seeds }, (_, i) => options.seed + i).map((seed) => {
      const isOneShot = spec.config.method === 'oneshot';
      const hasBatchNorm = spec.config.model === 'paper-cnn-wide';
      const config: TrainingRunConfig = {
        model: 'paper-cnn',
        dataset: 'cifar10',
        ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
        batchSize: 32,
        learningRate: 1e-3,
        ...(trainLimit !== undefined ? { trainLimit } : {}),
        ...(testLimit !== undefined ? { testLimit } : {}),
        validation,
        ...(options.testEachEpoch ? { testEachEpoch: true } : {}),
        backend: options.backend,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        seed,
        resume: false,
        // Without --reuse a run is trained again, replacing an earlier one in the same folder.
        overwrite: true,
        epochs: isOneShot ? epochs - finetune : epochs,
        ...(isOneShot ? { finetuneEpochs: finetune } : {}),
        augment: spec.paperRecipe ? 'none' : (options.augment ?? 'crop-flip'),
        ...(spec.paperRecipe
          ? {}
          : { learningRateSchedule: options.learningRateSchedule ?? 'cosine' }),
        // Quick runs are ~300 steps: BatchNorm's moving statistics need a faster average to settle.
        ...(hasBatchNorm && options.quick ? { batchNormMomentum: 0.9 } : {}),
        ...(hasBatchNorm
          ? {
              batchNormRecalibration: Math.min(
                options.batchNormRecalibration ?? 10_000,
                trainCount,
              ),
            }
          : {}),
        ...(options.sparseInit ? { sparseInit: true } : {}),
        ...spec.config,
        out: join(options.out, 'runs', spec.id, `seed-${seed}`),
        label: spec.label,
        ...(options.command !== undefined ? { command: options.command } : {}),
      };
      const cost = estimatedRunCost(config, stepsPerEpoch, macsOf(config));
      return { row: spec.id, label: spec.label, seed, config, steps: stepsPerEpoch * epochs, cost };
    }),
  );
}
