// Transpose for tfjs-wasm: a tiled kernel for swaps of the last two axes (every matrix transpose in training).
import type { KernelFunc, TensorInfo, TransposeAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { trainingWasmFor } from '../training-wasm.js';
import { heapOffset } from '../wasm-heap.js';

interface TransposeArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: TransposeAttrs;
}

/**
 * tfjs-wasm's transpose computes an index per element (about 10 ns each here): a dense layer's
 * [3072, 192] kernel took 6.6 ms, more than the matrix product it fed. Swaps of the last two axes, the
 * case every transposed matmul needs, go through a cache-tiled kernel; other permutations to `stock`.
 */
export function makeTranspose(stock: KernelFunc): KernelFunc {
  return ((args: TransposeArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const rank = x.shape.length;
    const perm = attrs.perm;
    const swapsLastTwo =
      rank >= 2 &&
      perm.every((p, i) =>
        i < rank - 2 ? p === i : i === rank - 2 ? p === rank - 1 : p === rank - 2,
      );
    const kernels = trainingWasmFor(backend);
    if (!swapsLastTwo || kernels === undefined || x.dtype !== 'float32')
      return stock(args as never) as TensorInfo;
    const rows = x.shape[rank - 2]!;
    const cols = x.shape[rank - 1]!;
    const batches = x.shape.slice(0, rank - 2).reduce((a, b) => a * b, 1);
    const out = backend.makeOutput([...x.shape.slice(0, rank - 2), cols, rows], 'float32');
    kernels.transposeLastTwo(heapOffset(backend, x), heapOffset(backend, out), batches, rows, cols);
    return out;
  }) as unknown as KernelFunc;
}
