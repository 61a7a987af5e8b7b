// Tile for tfjs-wasm by block copies; the stock kernel computes an index per element and dominated BatchNorm's gradient.
import type { KernelFunc, TensorInfo, TileAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface TileArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: TileAttrs;
}

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Tiles from the innermost axis outwards: first each input row is repeated along the last axis, then each
 * finished block is repeated along the axis before, with `copyWithin` (a memmove). The work is the output
 * size in bytes, with no per-element arithmetic. String tensors go to `stock`.
 */
export function makeTile(stock: KernelFunc): KernelFunc {
  return ((args: TileArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const reps = attrs.reps;
    if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) {
      return stock(args as never) as TensorInfo;
    }
    const rank = x.shape.length;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    const src = backend.typedArrayFromHeap(x) as HeapArray;
    const dst = backend.typedArrayFromHeap(out) as HeapArray;
    if (dst.length === 0) return out;
    if (rank === 0) {
      dst[0] = src[0]!;
      return out;
    }
    // Place each innermost input row at the start of its output slot, then grow blocks axis by axis.
    // inner[k] = elements in one output block of axes k..rank-1 (after tiling those axes).
    const inner = new Array<number>(rank + 1).fill(1);
    for (let k = rank - 1; k >= 0; k--) inner[k] = inner[k + 1]! * outShape[k]!;
    const lastIn = x.shape[rank - 1]!;
    const rows = src.length / lastIn;
    // Output offset of input row r: its multi-index over axes 0..rank-2, placed in the output grid.
    const outerIndex = new Array<number>(rank - 1).fill(0);
    for (let r = 0; r < rows; r++) {
      let offset = 0;
      for (let k = 0; k < rank - 1; k++) offset += outerIndex[k]! * inner[k + 1]!;
      const row = src.subarray(r * lastIn, (r + 1) * lastIn);
      for (let t = 0; t < reps[rank - 1]!; t++) dst.set(row, offset + t * lastIn);
      for (let k = rank - 2; k >= 0; k--) {
        if (++outerIndex[k]! < x.shape[k]!) break;
        outerIndex[k] = 0;
      }
    }
    // Now every axis k < rank-1 holds its input extent; repeat blocks outwards.
    for (let k = rank - 2; k >= 0; k--) {
      if (reps[k] === 1) continue;
      const block = x.shape[k]! * inner[k + 1]!;
      const blocks = inner[0]! / inner[k]!; // number of positions of axes 0..k-1 in the output
      for (let b = 0; b < blocks; b++) {
        const base = b * inner[k]!;
        // Only slots whose outer indices are all within input extents hold data yet; copying the
        // others too is harmless because they are overwritten by later (outer) axes.
        for (let t = 1; t < reps[k]!; t++) dst.copyWithin(base + t * block, base, base + block);
      }
    }
    return out;
  }) as unknown as KernelFunc;
}
