// SGD with momentum that updates sparse-path kernels in place at their active positions only.
import { MomentumOptimizer, engine, type Tensor } from '@tensorflow/tfjs';
import {
  inPlaceBackend,
  namedGradients,
  SparseUpdatePolicy,
  withDecay,
  zeroSlot,
  type NamedGradient,
  type OptimizerSlot,
  type SparseUpdateOptions,
} from './sparse-update.js';
import { heapOffset } from './wasm-heap.js';

/** The fields of tfjs's MomentumOptimizer this class works with (private in its typings). */
interface MomentumState {
  accumulations: (OptimizerSlot | undefined)[];
  learningRate: number;
  momentum: number;
  useNesterov: boolean;
}

/**
 * tfjs's MomentumOptimizer (same state, slot names and checkpoints) in which a kernel that trained on the
 * sparse path this step (`sparseLayoutOf`) is updated in place at its active positions, in tfjs's
 * operation order (a' = a·momentum + g, w' = (−lr)·a' + w), taking its weight decay there
 * (`sparseDecay`); every other variable, and every variable on other backends, takes tfjs's update.
 */
export class FusedMomentumOptimizer extends MomentumOptimizer {
  constructor(
    learningRate: number,
    momentum: number,
    useNesterov = false,
    options: SparseUpdateOptions = {},
  ) {
    super(learningRate, momentum, useNesterov);
    this.appliedRate = learningRate;
    this.sparse = new SparseUpdatePolicy(options);
  }

  readonly sparse: SparseUpdatePolicy;

  /** The rate tfjs's scalar −lr was made from. */
  private appliedRate: number;

  override applyGradients(
    variableGradients: Parameters<MomentumOptimizer['applyGradients']>[0],
  ): void {
    const state = this as unknown as MomentumState;
    // The in-place kernel implements the plain rule only; Nesterov steps go through tfjs.
    const where = state.useNesterov ? undefined : inPlaceBackend();
    // Learning-rate schedules set `learningRate` (tfjs has no other setter that Adam shares), but tfjs's
    // momentum update reads the scalar −lr it made when the rate was last set: remake it.
    if (state.learningRate !== this.appliedRate) {
      this.setLearningRate(state.learningRate);
      this.appliedRate = state.learningRate;
    }
    const named: NamedGradient[] = namedGradients(variableGradients);
    const f = Math.fround;
    const owned: Tensor[] = [];
    named.forEach(({ name, tensor: gradient }, i) => {
      const value = engine().registeredVariables[name]!;
      // The slot tfjs would create, created first so that the in-place update can use it.
      state.accumulations[i] ??= zeroSlot(value, `${name}/momentum`);
      if (gradient === undefined || gradient === null) return;
      const accumulation = state.accumulations[i]!.variable;
      const step = this.sparse.plan(where, name, value, [accumulation]);
      if (step.inPlace !== undefined && where !== undefined) {
        const { cscPtr, cscRow, k, co } = step.inPlace;
        const at = (t: Tensor) => heapOffset(where.backend, t);
        where.kernels.momentumUpdateAt(
          at(value),
          at(accumulation),
          at(gradient),
          cscPtr.offset,
          cscRow.offset,
          k,
          co,
          f(-state.learningRate),
          f(state.momentum),
          f(step.decay),
        );
        // tfjs's update skips a variable whose gradient is missing; its slot exists already.
        named[i] = { name, tensor: null as unknown as Tensor };
        return;
      }
      const g = withDecay(gradient, value, step.decay);
      if (g === gradient) return;
      owned.push(g);
      named[i] = { name, tensor: g };
    });
    super.applyGradients(named);
    for (const t of owned) t.dispose();
  }
}
