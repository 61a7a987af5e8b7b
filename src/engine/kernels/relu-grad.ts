// ReLU's gradient on tfjs-wasm as one kernel, where tfjs records Step, Cast and Multiply over the whole tensor.
import {
  engine,
  getBackend,
  type GradConfig,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { trainingWasmFor } from '../training-wasm.js';
import { heapOffset } from '../wasm-heap.js';

export const RELU_GRAD = 'DynaprunReluGrad';

/** dx = dy · step(x): inputs dy and x (ReLU's input), same shape. */
export function reluGrad(args: {
  inputs: { dy: TensorInfo; x: TensorInfo };
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, backend } = args;
  const dx = backend.makeOutput([...inputs.x.shape], 'float32');
  trainingWasmFor(backend)!.reluGrad(
    heapOffset(backend, inputs.dy),
    heapOffset(backend, inputs.x),
    heapOffset(backend, dx),
    inputs.x.shape.reduce((a, b) => a * b, 1),
  );
  return dx;
}

/**
 * ReLU's gradient config: on the wasm backend with dynaprune's kernels, the one-pass kernel above (the same
 * bits as tfjs's `mul(dy, cast(step(x)))`: at a conv1-sized activation of paper-cnn-wide, 11 MB, the
 * stock formula makes two full passes and a temporary); elsewhere tfjs's own gradient, `stock`.
 */
export function reluGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const backend = getBackend() === 'wasm' ? engine().findBackend('wasm') : null;
      const ready = backend !== null && trainingWasmFor(backend as BackendWasm) !== undefined;
      const dyTensor = Array.isArray(dy) ? dy[0]! : dy;
      if (!ready || dyTensor.dtype !== 'float32' || saved[0]!.dtype !== 'float32') {
        return stock.gradFunc(dy, saved, attrs);
      }
      const x = saved[0]!;
      return {
        x: () => engine().runKernel(RELU_GRAD, { dy: dyTensor, x }) as Tensor,
      };
    },
  };
}
