// Sum for tfjs-wasm: a SIMD column sum for reductions over leading axes (bias gradients), else tfjs's own.
import type { KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset } from '../wasm-heap.js';
import { trainingWasmFor } from '../training-wasm.js';

interface SumArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: SumAttrs;
}

/**
 * tfjs-wasm reduces over leading axes by transposing them to the end first, a full copy of the gradient.
 * Summing columns in place avoids it. Other reductions, dtypes and shapes go to `stock`.
 */
export function makeSum(stock: KernelFunc): KernelFunc {
  return ((args: SumArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const kernels = trainingWasmFor(backend);
    const rank = x.shape.length;
    const axes = (Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis]).map((a) =>
      a < 0 ? a + rank : a,
    );
    const leading =
      axes.length > 0 &&
      axes.length < rank &&
      [...axes].sort((a, b) => a - b).every((a, i) => a === i);
    const cols = x.shape.slice(axes.length).reduce((a, b) => a * b, 1);
    if (kernels === undefined || x.dtype !== 'float32' || !leading || cols % 4 !== 0) {
      return stock(args as never) as TensorInfo;
    }
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const outShape = attrs.keepDims
      ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
      : x.shape.slice(axes.length);
    const out = backend.makeOutput(outShape, 'float32');
    kernels.sumLeadingAxes(heapOffset(backend, x), heapOffset(backend, out), rows, cols);
    return out;
  }) as unknown as KernelFunc;
}
