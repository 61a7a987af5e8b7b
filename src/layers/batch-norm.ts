// FastBatchNormalization: tf.layers.batchNormalization whose training step is two fused WebAssembly kernels.
import {
  customGrad,
  dispose,
  engine,
  getBackend,
  keep,
  layers,
  serialization,
  tidy,
  type LayersModel,
  type LayerVariable,
  type Tensor,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { trainingWasmFor, type TrainingWasmExports } from '../engine/training-wasm.js';
import { heapOffset } from '../engine/wasm-heap.js';

/** The arguments of `tf.layers.batchNormalization`. */
export type FastBatchNormalizationArgs = Parameters<typeof layers.batchNormalization>[0];

/** The fields of tfjs-layers' BatchNormalization this subclass reads (protected in its typings). */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

type LayerInstance = ReturnType<typeof layers.batchNormalization>;

/** Whether `layer` is a BatchNorm layer: tfjs's own or FastBatchNormalization. */
export const isBatchNorm = (layer: { getClassName(): string }): boolean =>
  layer.getClassName().endsWith('BatchNormalization');

/** Every BatchNorm layer's moving mean and variance as they are now, to put back later ({@link restore}). */
export interface MovingStatisticsSnapshot {
  /** Writes the saved values back, bit for bit. */
  restore(): void;
  /** Frees the saved values. */
  dispose(): void;
}

/**
 * Saves every BatchNorm layer's moving mean and variance (the stock layer and FastBatchNormalization)
 * without a copy: the saved tensors share the variables' data, which a later write replaces.
 */
export function snapshotMovingStatistics(model: LayersModel): MovingStatisticsSnapshot {
  const variables = model.layers.filter(isBatchNorm).flatMap((layer) => {
    const { movingMean, movingVariance } = layer as unknown as BatchNormFields;
    return [movingMean, movingVariance];
  });
  const saved = variables.map((v) => keep(v.read().clone()));
  return {
    restore: () => variables.forEach((v, i) => v.write(saved[i]!)),
    dispose: () => dispose(saved),
  };
}

/**
 * Runs `fn`, a pass in training mode that is not a training step (RigL's dense-gradient pass), and then
 * puts every BatchNorm layer's moving mean and variance back as they were before it. In training mode
 * BatchNorm normalizes with the batch's statistics, as the step it stands for does, but it also moves its
 * moving averages, which only the training steps may do: one extra update per call would weigh that batch
 * twice.
 */
export function keepingMovingStatistics<T>(model: LayersModel, fn: () => T): T {
  const snapshot = snapshotMovingStatistics(model);
  try {
    return fn();
  } finally {
    snapshot.restore();
    snapshot.dispose();
  }
}

type LayerClass = (new (args?: FastBatchNormalizationArgs) => LayerInstance) & {
  className: string;
};

function wasmKernels(): { backend: BackendWasm; kernels: TrainingWasmExports } | undefined {
  if (getBackend() !== 'wasm') return undefined;
  const backend = engine().findBackend('wasm') as BackendWasm | null;
  const kernels = backend ? trainingWasmFor(backend) : undefined;
  return backend && kernels ? { backend, kernels } : undefined;
}

function output(backend: BackendWasm, shape: number[]): { tensor: Tensor; offset: number } {
  const info = backend.makeOutput(shape, 'float32');
  return { tensor: engine().makeTensorFromTensorInfo(info), offset: heapOffset(backend, info) };
}

/**
 * Batch normalization in training mode over the last axis of an NHWC (or [batch, features]) tensor:
 * y = gamma · (x − mean) / sqrt(var + eps) + beta with batch statistics, and its exact gradient with
 * respect to x, gamma and beta (through the batch statistics too), each as one kernel instead of the
 * dozen tfjs ops the stock layer records. Returns y and the batch mean and (biased) variance; the caller
 * owns (and disposes) the mean and variance.
 */
function fusedTrainingBatchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  wasm: { backend: BackendWasm; kernels: TrainingWasmExports },
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const { backend, kernels } = wasm;
  const channels = x.shape[x.rank - 1]!;
  const rows = x.size / channels;
  let mean: Tensor | undefined;
  let variance: Tensor | undefined;
  // customGrad's typings take (...inputs, save) as one rest parameter.
  const op = customGrad(((
    xIn: Tensor,
    gammaIn: Tensor,
    betaIn: Tensor,
    save: (tensors: Tensor[]) => void,
  ) => {
    const y = output(backend, [...xIn.shape]);
    const m = output(backend, [channels]);
    const v = output(backend, [channels]);
    const inv = output(backend, [channels]);
    kernels.batchNormForward(
      heapOffset(backend, xIn),
      heapOffset(backend, gammaIn),
      heapOffset(backend, betaIn),
      y.offset,
      m.offset,
      v.offset,
      inv.offset,
      rows,
      channels,
      Math.fround(epsilon),
    );
    // customGrad frees what its function creates besides the value; the caller disposes these two.
    mean = keep(m.tensor.clone());
    variance = keep(v.tensor);
    save([xIn, m.tensor, inv.tensor, gammaIn]);
    return {
      value: y.tensor,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, ms, invs, gs] = saved as [Tensor, Tensor, Tensor, Tensor];
        const g = (Array.isArray(dy) ? dy[0]! : dy) as Tensor;
        const dx = output(backend, [...xs.shape]);
        const dgamma = output(backend, [channels]);
        const dbeta = output(backend, [channels]);
        kernels.batchNormBackward(
          heapOffset(backend, g),
          heapOffset(backend, xs),
          heapOffset(backend, ms),
          heapOffset(backend, invs),
          heapOffset(backend, gs),
          dx.offset,
          dgamma.offset,
          dbeta.offset,
          rows,
          channels,
        );
        return [dx.tensor, dgamma.tensor, dbeta.tensor];
      },
    };
  }) as unknown as Parameters<typeof customGrad>[0]);
  const y = (op as unknown as (a: Tensor, b: Tensor, c: Tensor) => Tensor)(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

let fastClass: LayerClass | undefined;

/**
 * The class, made on first use: it extends tfjs-layers' BatchNormalization, which tfjs exports only
 * through its factory, so getting the constructor means building one throwaway layer.
 */
function fastBatchNormalizationClass(): LayerClass {
  if (fastClass) return fastClass;
  const Base = Object.getPrototypeOf(layers.batchNormalization({ name: '__dynaprune_probe' }))
    .constructor as LayerClass;
  class FastBatchNormalization extends Base {
    static override className = 'FastBatchNormalization';

    override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
      const self = this as unknown as BatchNormFields;
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
      const wasm = kwargs['training'] === true ? wasmKernels() : undefined;
      const axis = self.axis < 0 ? self.axis + x.rank : self.axis;
      const channels = x.shape[x.rank - 1]!;
      const fast =
        wasm !== undefined &&
        axis === x.rank - 1 &&
        self.center &&
        self.scale &&
        x.dtype === 'float32' &&
        channels % 4 === 0;
      if (!fast) return super.call(inputs, kwargs);
      return tidy(() => {
        const { y, mean, variance } = fusedTrainingBatchNorm(
          x,
          self.gamma.read(),
          self.beta.read(),
          self.epsilon,
          wasm,
        );
        // The same moving-average update as the parent: v ← v − (v − batch) · (1 − momentum).
        for (const [variable, value] of [
          [self.movingMean, mean],
          [self.movingVariance, variance],
        ] as const) {
          tidy(() => {
            const current = variable.read();
            variable.write(current.sub(current.sub(value).mul(1 - self.momentum)));
          });
          value.dispose();
        }
        return y;
      });
    }
  }
  fastClass = FastBatchNormalization as unknown as LayerClass;
  return fastClass;
}

/**
 * A drop-in for `tf.layers.batchNormalization`: the same weights, inference, saved format (class name
 * `FastBatchNormalization`, registered by `registerDynamicLayers()`), and, in training on the wasm
 * backend with dynaprune's kernels, one fused kernel for the forward pass and one for the gradient.
 * Elsewhere it falls back to the stock layer's computation.
 */
export function fastBatchNormalization(args: FastBatchNormalizationArgs = {}): LayerInstance {
  const Cls = fastBatchNormalizationClass();
  return new Cls(args);
}

/** Registers FastBatchNormalization with tfjs serialization (called by registerDynamicLayers). */
export function registerFastBatchNormalization(): void {
  serialization.registerClass(
    fastBatchNormalizationClass() as unknown as serialization.SerializableConstructor<serialization.Serializable>,
  );
}
