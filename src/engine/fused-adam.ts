// Adam whose per-variable update is one SIMD pass on the wasm backend instead of a dozen tfjs ops.
import {
  AdamOptimizer,
  add,
  engine,
  mul,
  scalar,
  getBackend,
  tidy,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  decayOf,
  noSparseDecay,
  sparseLayoutOf,
  writableInPlace,
  type SparseUpdateOptions,
  type SparseWeightDecay,
} from './sparse-update.js';
import { trainingWasmFor } from './training-wasm.js';
import { heapOffset } from './wasm-heap.js';

/** The fields of tfjs's AdamOptimizer this class works with (private in its typings). */
interface AdamState {
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: Variable } | undefined)[];
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
    this.sparseDecay = options.sparseDecay ?? noSparseDecay;
    this.activeOnly = options.activeOnly ?? true;
  }

  readonly sparseDecay: SparseWeightDecay;
  readonly activeOnly: boolean;

  override applyGradients(variableGradients: Parameters<AdamOptimizer['applyGradients']>[0]): void {
    const backend =
      getBackend() === 'wasm' ? (engine().findBackend('wasm') as BackendWasm | null) : null;
    const kernels = backend ? trainingWasmFor(backend) : undefined;
    if (!backend || !kernels) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const f = Math.fround;
    const c1 = f(1 - state.accBeta1.dataSync()[0]!);
    const c2 = f(1 - state.accBeta2.dataSync()[0]!);
    names.forEach((name, i) => {
      const value = engine().registeredVariables[name]!;
      const gradient: Tensor | undefined = Array.isArray(variableGradients)
        ? variableGradients[i]!.tensor
        : variableGradients[name];
      state.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tidy(() => value.zerosLike().variable(false)),
      };
      state.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tidy(() => value.zerosLike().variable(false)),
      };
      if (gradient === undefined || gradient === null) return;
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      const trained = sparseLayoutOf(value);
      const decay = trained !== undefined ? decayOf(this.sparseDecay, name) : 0;
      const layout = this.activeOnly ? trained : undefined;
      if (layout !== undefined && writableInPlace(backend, [value, m, v])) {
        kernels.adamUpdateAt(
          heapOffset(backend, value),
          heapOffset(backend, m),
          heapOffset(backend, v),
          heapOffset(backend, gradient),
          layout.cscPtr.offset,
          layout.cscRow.offset,
          layout.k,
          layout.co,
          f(-state.learningRate),
          f(state.beta1),
          f(1 - state.beta1),
          f(state.beta2),
          f(1 - state.beta2),
          f(state.epsilon),
          c1,
          c2,
          f(decay),
        );
        return;
      }
      // Shared data (a clone of the weights is alive): the dense update, with the decay added here.
      const g = decay === 0 ? gradient : tidy(() => add(gradient, mul(value, scalar(decay))));
      const shape = value.shape;
      const outs = [0, 1, 2].map(() => backend.makeOutput([...shape], 'float32'));
      kernels.adamUpdate(
        heapOffset(backend, value),
        heapOffset(backend, m),
        heapOffset(backend, v),
        heapOffset(backend, g),
        heapOffset(backend, outs[0]!),
        heapOffset(backend, outs[1]!),
        heapOffset(backend, outs[2]!),
        value.size,
        f(-state.learningRate),
        f(state.beta1),
        f(1 - state.beta1),
        f(state.beta2),
        f(1 - state.beta2),
        f(state.epsilon),
        c1,
        c2,
      );
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
