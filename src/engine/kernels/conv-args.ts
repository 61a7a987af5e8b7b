// What the conv kernels share: their geometry, the XNNPACK convolution their fallbacks run, and the worker split.
import { backend_util } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel } from '../wasm-heap.js';
import {
  kernelWorkersFor,
  type ConvGeometryArgs,
  type TrainingWasmExports,
  type WorkerKernel,
} from '../training-wasm.js';

/** The attributes that size a convolution, as both backprop kernels receive them. */
type ConvSizing = Pick<Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dimRoundingMode'>;

/** tfjs's description of the NHWC convolution of an `inShape` input by a `filterShape` filter. */
export function convInfoOf(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvSizing,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/**
 * tfjs-wasm's own Conv2D (XNNPACK), stride 1, with explicit padding of the rows ([top, bottom]) and
 * columns ([left, right]): the convolution that both backprop kernels fall back to. The caller owns the
 * result.
 */
export function paddedConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  rows: readonly [number, number],
  cols: readonly [number, number],
  dilations: number | [number, number],
): TensorInfo {
  return callKernel(
    backend,
    'Conv2D',
    { x, filter },
    {
      strides: 1,
      pad: [[0, 0], [...rows], [...cols], [0, 0]],
      dilations,
      dataFormat: 'NHWC',
      dimRoundingMode: undefined as unknown as string,
    },
  );
}

/** The geometry tuple every conv kernel takes after its pointers. */
export function convGeometryArgs(info: backend_util.Conv2DInfo): ConvGeometryArgs {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/**
 * Runs `kernel(...args, start, end, ...perThread(thread))` over the units [0, units) (tiles, channel
 * blocks, images): on the calling thread alone (thread 0), or in contiguous ranges, one per thread, when
 * the backend has kernel workers. `perThread` gives each thread its own arguments (scratch memory). The
 * kernels write disjoint memory per unit and sum each entry in the same order whatever the split, so
 * every thread count gives the same bits.
 */
export function runSplit(
  backend: BackendWasm,
  kernels: TrainingWasmExports,
  kernel: WorkerKernel,
  args: readonly number[],
  units: number,
  perThread: (thread: number) => readonly number[] = () => [],
): void {
  const run = kernels[kernel] as (...a: number[]) => void;
  const workers = kernelWorkersFor(backend);
  if (workers === undefined || units < 2) {
    run(...args, 0, units, ...perThread(0));
    return;
  }
  const threads = workers.count + 1;
  const bound = (i: number) => Math.round((units * i) / threads);
  workers.run(
    kernel,
    Array.from({ length: workers.count }, (_, i) => [
      ...args,
      bound(i + 1),
      bound(i + 2),
      ...perThread(i + 1),
    ]),
    () => run(...args, 0, bound(1), ...perThread(0)),
  );
}

/** The threads a kernel split by {@link runSplit} runs on (1 without kernel workers). */
export function splitThreads(backend: BackendWasm): number {
  return (kernelWorkersFor(backend)?.count ?? 0) + 1;
}
