// SGD with momentum that updates sparse-path kernels in place at their active positions only.
import {
  MomentumOptimizer,
  add,
  engine,
  mul,
  scalar,
  tidy,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import {
  decayOf,
  inPlaceBackend,
  noSparseDecay,
  sparseLayoutOf,
  writableInPlace,
  type SparseUpdateOptions,
  type SparseWeightDecay,
} from './sparse-update.js';

/** tfjs's NamedTensor, which its public index does not export. */
type NamedTensor = { name: string; tensor: Tensor };
import { heapOffset } from './wasm-heap.js';

/** The fields of tfjs's MomentumOptimizer this class works with (private in its typings). */
interface MomentumState {
  accumulations: ({ originalName: string; variable: Variable } | undefined)[];
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
    this.sparseDecay = options.sparseDecay ?? noSparseDecay;
    this.activeOnly = options.activeOnly ?? true;
  }

  readonly sparseDecay: SparseWeightDecay;
  readonly activeOnly: boolean;

  /** The rate tfjs's scalar −lr was made from. */
  private appliedRate: number;

  override applyGradients(
    variableGradients: Parameters<MomentumOptimizer['applyGradients']>[0],
  ): void {
    const where = inPlaceBackend();
    const state = this as unknown as MomentumState;
    // Learning-rate schedules set `learningRate` (tfjs has no other setter that Adam shares), but tfjs's
    // momentum update reads the scalar −lr it made when the rate was last set: remake it.
    if (state.learningRate !== this.appliedRate) {
      this.setLearningRate(state.learningRate);
      this.appliedRate = state.learningRate;
    }
    const named: NamedTensor[] = Array.isArray(variableGradients)
      ? [...variableGradients]
      : Object.keys(variableGradients).map((name) => ({
          name,
          tensor: variableGradients[name]!,
        }));
    const f = Math.fround;
    const owned: Tensor[] = [];
    named.forEach(({ name, tensor: gradient }, i) => {
      const value = engine().registeredVariables[name]!;
      // The slot tfjs would create, created first so that the in-place update can use it.
      state.accumulations[i] ??= {
        originalName: `${name}/momentum`,
        variable: tidy(() => value.zerosLike().variable(false)),
      };
      const trained = sparseLayoutOf(value);
      if (gradient === undefined || gradient === null || trained === undefined) return;
      const layout = this.activeOnly ? trained : undefined;
      const decay = decayOf(this.sparseDecay, name);
      const accumulation = state.accumulations[i]!.variable;
      if (
        where !== undefined &&
        layout !== undefined &&
        !state.useNesterov &&
        writableInPlace(where.backend, [value, accumulation])
      ) {
        where.kernels.momentumUpdateAt(
          heapOffset(where.backend, value),
          heapOffset(where.backend, accumulation),
          heapOffset(where.backend, gradient),
          layout.cscPtr.offset,
          layout.cscRow.offset,
          layout.k,
          layout.co,
          f(-state.learningRate),
          f(state.momentum),
          f(decay),
        );
        // tfjs's update skips a variable whose gradient is missing; its slot exists already.
        named[i] = { name, tensor: null as unknown as Tensor };
      } else if (decay !== 0) {
        const g = tidy(() => add(gradient, mul(value, scalar(decay))));
        owned.push(g);
        named[i] = { name, tensor: g };
      }
    });
    super.applyGradients(named);
    for (const t of owned) t.dispose();
  }
}
