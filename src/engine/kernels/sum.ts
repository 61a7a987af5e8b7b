// Sum for tfjs-wasm: a SIMD column sum for reductions over leading axes (bias gradients), else tfjs's own.
import type { KernelFunc, MeanAttrs, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapFloat32, heapOffset } from '../wasm-heap.js';
import { trainingWasmFor } from '../training-wasm.js';

interface SumArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: SumAttrs | MeanAttrs;
}

/** The column sum of x over its leading `axis` axes, or undefined when the fast path does not apply. */
function sumLeading(args: SumArgs): { out: TensorInfo; rows: number } | undefined {
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
  if (kernels === undefined || x.dtype !== 'float32' || !leading || cols % 4 !== 0)
    return undefined;
  const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const outShape = attrs.keepDims
    ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
    : x.shape.slice(axes.length);
  const out = backend.makeOutput(outShape, 'float32');
  kernels.sumLeadingAxes(heapOffset(backend, x), heapOffset(backend, out), rows, cols);
  return { out, rows };
}

/**
 * tfjs-wasm reduces over leading axes by transposing them to the end first, a full copy of the gradient.
 * Summing columns in place avoids it. Other reductions, dtypes and shapes go to `stock`.
 */
export function makeSum(stock: KernelFunc): KernelFunc {
  return ((args: SumArgs): TensorInfo =>
    sumLeading(args)?.out ?? (stock(args as never) as TensorInfo)) as unknown as KernelFunc;
}

/** Mean over leading axes (BatchNorm's batch statistics): the column sum, scaled. */
export function makeMean(stock: KernelFunc): KernelFunc {
  return ((args: SumArgs): TensorInfo => {
    const summed = sumLeading(args);
    if (summed === undefined) return stock(args as never) as TensorInfo;
    const values = heapFloat32(args.backend, summed.out);
    const scale = 1 / summed.rows;
    for (let i = 0; i < values.length; i++) values[i]! *= scale;
    return summed.out;
  }) as unknown as KernelFunc;
}
