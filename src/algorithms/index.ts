// Sparse-training algorithms behind one interface, their schedules, and the trainer that runs them.
export type { LayerView, SparseAlgorithm, UpdateContext, UpdateResult } from './algorithm.js';
export { DSR, proportionalGrants, type DsrOptions } from './dsr.js';
export { GMP, type GmpOptions } from './gmp.js';
export { OneShot, type OneShotOptions } from './oneshot.js';
export { resetMomentsOnMaskWrites, resetOptimizerSlots } from '../train/optimizer-state.js';
export {
  getMethod,
  methodNames,
  methods,
  type MethodName,
  type MethodOptions,
  type MethodSpec,
} from './registry.js';
export { RigL } from './rigl.js';
export {
  cosineDropFraction,
  DoublingSchedule,
  PeriodicSchedule,
  polynomialSparsity,
  type UpdateSchedule,
} from './schedules.js';
export { SET, type DropAndGrowOptions } from './set.js';
export { SparseTrainer, type SparseTrainerOptions, type StepArgs } from './sparse-trainer.js';
export { StaticMask } from './static.js';
