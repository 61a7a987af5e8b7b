// The table of methods `--method` accepts, with each paper's default hyperparameters.
import { UnknownNameError } from '../errors.js';
import type { DistributionName } from '../sparsity/distributions.js';
import type { SparseAlgorithm } from './algorithm.js';
import { DSR } from './dsr.js';
import { GMP } from './gmp.js';
import { OneShot } from './oneshot.js';
import { RigL } from './rigl.js';
import { DoublingSchedule, REFERENCE_RUN_STEPS } from './schedules.js';
import { SET } from './set.js';
import { StaticMask } from './static.js';

export type MethodName = 'dense' | 'dsr' | 'set' | 'rigl' | 'gmp' | 'static' | 'oneshot';
export const methodNames: readonly MethodName[] = [
  'dense',
  'dsr',
  'set',
  'rigl',
  'gmp',
  'static',
  'oneshot',
];

/** Hyperparameters of all methods; each method reads the ones it has. */
export interface MethodOptions {
  readonly sparsity: number;
  readonly distribution?: DistributionName;
  /** DSR: Np, the number of weights to prune per rewiring. */
  readonly targetPruned?: number;
  /** DSR: the first rewiring period (then doubled three times); SET/RigL/GMP: the update period. */
  readonly period?: number;
  /** SET/RigL: the drop fraction. */
  readonly dropFraction?: number;
  /** Fraction of training after which masks stop changing. */
  readonly stopFraction?: number;
  /** DSR: cross-layer reallocation (default true); false is the ablation that regrows in place. */
  readonly reallocate?: boolean;
}

export interface MethodSpec {
  readonly name: MethodName;
  readonly description: string;
  /** Whether the model trains with masks from the start (false: dense, and one-shot until the end). */
  readonly sparseFromStart: boolean;
  /** The algorithm, or undefined for `dense`. */
  create(options: MethodOptions): SparseAlgorithm | undefined;
}

/** The papers' step counts for full-length runs, scaled down for shorter ones, unless a period is given. */
const reference = (o: MethodOptions) => (o.period === undefined ? REFERENCE_RUN_STEPS : undefined);

const doubling = (o: MethodOptions) => {
  const p = o.period ?? 100;
  return new DoublingSchedule(
    [p, 2 * p, 4 * p, 8 * p],
    [0.25, 0.5, 0.75],
    o.stopFraction ?? 0.9,
    reference(o),
  );
};

export const methods: readonly MethodSpec[] = [
  { name: 'dense', description: 'no pruning', sparseFromStart: false, create: () => undefined },
  {
    name: 'dsr',
    description:
      'Dynamic Sparse Reparameterization (Mostafa & Wang 2019): adaptive global threshold, reallocation',
    sparseFromStart: true,
    create: (o) =>
      new DSR({
        schedule: doubling(o),
        ...(o.reallocate === false ? { reallocate: false } : {}),
        ...(o.targetPruned !== undefined ? { targetPruned: o.targetPruned } : {}),
      }),
  },
  {
    name: 'set',
    description: 'Sparse Evolutionary Training (Mocanu 2018): magnitude drop, random growth',
    sparseFromStart: true,
    create: (o) =>
      new SET({
        dropFraction: o.dropFraction ?? 0.3,
        ...(o.period !== undefined ? { period: o.period } : {}),
        stopFraction: o.stopFraction ?? 0.75,
      }),
  },
  {
    name: 'rigl',
    description:
      'RigL (Evci 2020): magnitude drop, growth by gradient, cosine-decayed drop fraction',
    sparseFromStart: true,
    create: (o) =>
      new RigL({
        dropFraction: o.dropFraction ?? 0.3,
        ...(o.period !== undefined ? { period: o.period } : {}),
        stopFraction: o.stopFraction ?? 0.75,
      }),
  },
  {
    name: 'gmp',
    description: "Gradual magnitude pruning (Zhu & Gupta 2017), tfmot's PolynomialDecay",
    sparseFromStart: false,
    create: (o) =>
      new GMP({
        finalSparsity: o.sparsity,
        ...(o.distribution ? { distribution: o.distribution } : {}),
        ...(o.period !== undefined ? { period: o.period } : {}),
        endFraction: o.stopFraction ?? 0.75,
      }),
  },
  {
    name: 'static',
    description: 'a fixed random mask',
    sparseFromStart: true,
    create: () => new StaticMask(),
  },
  {
    name: 'oneshot',
    description: 'magnitude pruning after dense training (the conventional method)',
    sparseFromStart: false,
    create: (o) =>
      new OneShot({
        sparsity: o.sparsity,
        ...(o.distribution ? { distribution: o.distribution } : {}),
      }),
  },
];

/** Looks a method up by name; throws UnknownNameError listing the valid names. */
export function getMethod(name: string): MethodSpec {
  const spec = methods.find((m) => m.name === name);
  if (spec === undefined) throw new UnknownNameError('method', name, methodNames);
  return spec;
}
