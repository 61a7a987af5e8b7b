// Adam whose per-variable update is one SIMD pass on the wasm backend instead of a dozen tfjs ops.
import {
  AdamOptimizer,
  engine,
  tidy,
  type Tensor,
  type TensorInfo,
  type Variable,
} from '@tensorflow/tfjs';
import {
  inPlaceBackend,
  namedGradients,
  SparseUpdatePolicy,
  withDecay,
  zeroSlot,
  type OptimizerSlot,
  type SparseUpdateOptions,
} from './sparse-update.js';
import type { AdamRates } from './training-wasm.js';
import { heapOffset } from './wasm-heap.js';

/** The fields of tfjs's AdamOptimizer this class works with (private in its typings). */
interface AdamState {
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: (OptimizerSlot | undefined)[];
  accumulatedSecondMoment: (OptimizerSlot | undefined)[];
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  incrementIterations(): void;
}

/**
 * tfjs's Adam (same state, same checkpoints, same slot names, so the moment resets of sparse training
 * work unchanged) with a fused update on the wasm backend: the new weights and both moments come out of
 * one kernel, computed in tfjs's own operation order. A kernel that trained on the sparse path this step
 * is updated in place at its active positions only (`sparseLayoutOf`), with the same arithmetic, and
 * takes its weight decay there (`sparseDecay`). Other backends run tfjs's update.
 */
export class FusedAdamOptimizer extends AdamOptimizer {
  constructor(
    learningRate: number,
    beta1: number,
    beta2: number,
    epsilon?: number,
    options: SparseUpdateOptions = {},
  ) {
    super(learningRate, beta1, beta2, epsilon);
    this.sparse = new SparseUpdatePolicy(options);
  }

  readonly sparse: SparseUpdatePolicy;

  override applyGradients(variableGradients: Parameters<AdamOptimizer['applyGradients']>[0]): void {
    const where = inPlaceBackend();
    if (where === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const { backend, kernels } = where;
    const state = this as unknown as AdamState;
    const f = Math.fround;
    const rates: AdamRates = [
      f(-state.learningRate),
      f(state.beta1),
      f(1 - state.beta1),
      f(state.beta2),
      f(1 - state.beta2),
      f(state.epsilon),
      f(1 - state.accBeta1.dataSync()[0]!),
      f(1 - state.accBeta2.dataSync()[0]!),
    ];
    namedGradients(variableGradients).forEach(({ name, tensor: gradient }, i) => {
      const value = engine().registeredVariables[name]!;
      state.accumulatedFirstMoment[i] ??= zeroSlot(value, `${name}/m`);
      state.accumulatedSecondMoment[i] ??= zeroSlot(value, `${name}/v`);
      if (gradient === undefined || gradient === null) return;
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      const step = this.sparse.plan(where, name, value, [m, v]);
      const at = (t: TensorInfo) => heapOffset(backend, t);
      if (step.inPlace !== undefined) {
        const { cscPtr, cscRow, k, co } = step.inPlace;
        const positions = [cscPtr.offset, cscRow.offset, k, co] as const;
        kernels.adamUpdateAt(
          at(value),
          at(m),
          at(v),
          at(gradient),
          ...positions,
          ...rates,
          f(step.decay),
        );
        return;
      }
      // Shared data (a clone of the weights is alive), or the dense path: the whole variable.
      const g = withDecay(gradient, value, step.decay);
      const outs = [0, 1, 2].map(() => backend.makeOutput([...value.shape], 'float32'));
      const [outW, outM, outV] = outs.map(at) as [number, number, number];
      kernels.adamUpdate(at(value), at(m), at(v), at(g), outW, outM, outV, value.size, ...rates);
      const [newValue, newM, newV] = outs.map((info) =>
        engine().makeTensorFromTensorInfo(info),
      ) as [Tensor, Tensor, Tensor];
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
      newM.dispose();
      newV.dispose();
      newValue.dispose();
      if (g !== gradient) g.dispose();
    });
    tidy(() => {
      state.accBeta1.assign(state.accBeta1.mul(state.beta1));
      state.accBeta2.assign(state.accBeta2.mul(state.beta2));
    });
    state.incrementIterations();
  }
}
