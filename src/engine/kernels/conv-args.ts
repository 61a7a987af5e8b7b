// What the conv kernels share: their geometry arguments, and a kernel's range split over the kernel workers.
import type { backend_util } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  kernelWorkersFor,
  type ConvGeometryArgs,
  type TrainingWasmExports,
  type WorkerKernel,
} from '../training-wasm.js';

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
 * Runs `kernel(...args, start, end)` over the units [0, units) (tiles, channel blocks): on the calling
 * thread alone, or in contiguous ranges, one per thread, when the backend has kernel workers. The
 * kernels write disjoint memory per unit and sum each entry in the same order whatever the split, so
 * every thread count gives the same bits.
 */
export function runSplit(
  backend: BackendWasm,
  kernels: TrainingWasmExports,
  kernel: WorkerKernel,
  args: readonly number[],
  units: number,
): void {
  const run = kernels[kernel] as (...a: number[]) => void;
  const workers = kernelWorkersFor(backend);
  if (workers === undefined || units < 2) {
    run(...args, 0, units);
    return;
  }
  const threads = workers.count + 1;
  const bound = (i: number) => Math.round((units * i) / threads);
  workers.run(
    kernel,
    Array.from({ length: workers.count }, (_, i) => [...args, bound(i + 1), bound(i + 2)]),
    () => run(...args, 0, bound(1)),
  );
}
