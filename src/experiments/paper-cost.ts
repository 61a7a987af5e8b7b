// The estimated work of a training run, so the comparison can start the longest runs first and give an ETA.
import { GMP } from '../algorithms/gmp.js';
import { sparsePays } from '../engine/sparse-choice.js';
import type { TrainingRunConfig } from './experiment.js';

/**
 * A sparse-path training step at density d costs SPARSE_BASE + SPARSE_PER_DENSITY·d of the same model's
 * dense-path step. Fitted (least squares) to the idle reference run of docs/RESULTS.md §5.0 at main 68cc1b4
 * (paper-cnn-wide width 3, one thread, dense-path images/s at density 1 over sparse-path images/s): 0.359
 * at density 0.2, 0.243 at 0.1, 0.211 at 0.05; the line gives 0.355, 0.254 and 0.204. The constant is what
 * does not shrink with the density: BatchNorm, activations, pooling, the optimizer's fixed costs.
 */
const SPARSE_BASE = 0.153;
const SPARSE_PER_DENSITY = 1.01;

/**
 * Work per training image that does not grow with the model (batch assembly, augmentation, the loss), in
 * dense-path multiply-adds. From the same run: the paper's Keras CNN trains at 714 images/s and the dense
 * paper-cnn-wide at 105.7, a time ratio of 0.148 where their multiply-adds alone give 0.126. Without it a
 * Keras-sized run was estimated at 0.35 of a 90%-sparse wide run; it takes about 0.57.
 */
const PER_IMAGE_OVERHEAD = 0.96e6;

/** Midpoints per phase: enough to follow GMP's cubic ramp within a fraction of a percent. */
const SAMPLES = 64;

/** One training step's cost at `density`, as a fraction of the dense path's (1 above the crossover). */
export function relativeStepCost(density: number): number {
  if (!sparsePays('conv', density)) return 1;
  return Math.min(1, SPARSE_BASE + SPARSE_PER_DENSITY * density);
}

/** A stretch of a run: its optimizer steps and the density of the masked layers along it (0 to 1). */
interface CostPhase {
  readonly steps: number;
  readonly densityAt: (fraction: number) => number;
}

/** The phases of `config`'s run: dense or sparse throughout, GMP's ramp, or one-shot's two phases. */
function phasesOf(config: TrainingRunConfig, stepsPerEpoch: number): CostPhase[] {
  const sparsity = config.sparsity ?? 0;
  const steps = config.epochs * stepsPerEpoch;
  const constant = (density: number) => () => density;
  switch (config.method ?? 'dense') {
    case 'dense':
      return [{ steps, densityAt: constant(1) }];
    case 'oneshot':
      return [
        { steps, densityAt: constant(1) },
        { steps: (config.finetuneEpochs ?? 0) * stepsPerEpoch, densityAt: constant(1 - sparsity) },
      ];
    case 'gmp': {
      const gmp = new GMP({ finalSparsity: sparsity });
      return [{ steps, densityAt: (u) => 1 - gmp.sparsityAt(u * steps, steps) }];
    }
    default:
      return [{ steps, densityAt: constant(1 - sparsity) }];
  }
}

/**
 * The estimated work of training `config`, in dense-path multiply-adds: over its steps, batch size × (the
 * model's dense multiply-adds per image × {@link relativeStepCost} of the masked layers' density at that
 * step, plus {@link PER_IMAGE_OVERHEAD}). An estimate for ordering runs and for the ETA (evaluation, about 4% more, is left out); it treats
 * every masked layer as being at the global density, and backward passes as a constant multiple of the
 * forward one.
 */
export function estimatedRunCost(
  config: TrainingRunConfig,
  stepsPerEpoch: number,
  denseMultiplyAddsPerImage: number,
): number {
  let relativeSteps = 0;
  let steps = 0;
  for (const phase of phasesOf(config, stepsPerEpoch)) {
    let sum = 0;
    for (let i = 0; i < SAMPLES; i++) sum += relativeStepCost(phase.densityAt((i + 0.5) / SAMPLES));
    relativeSteps += (phase.steps * sum) / SAMPLES;
    steps += phase.steps;
  }
  return (
    config.batchSize * (relativeSteps * denseMultiplyAddsPerImage + steps * PER_IMAGE_OVERHEAD)
  );
}
