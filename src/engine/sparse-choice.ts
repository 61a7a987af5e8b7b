// Which kernels a masked layer trains with: the dense tfjs ops or dynaprune's sparse ones, and when each pays.
import { engine, getBackend, getKernel } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { UnknownNameError } from '../errors.js';
import { SPARSE_CONV_FORWARD } from './kernels/sparse-conv2d.js';
import { trainingWasmFor } from './training-wasm.js';

/**
 * `auto` (default): the sparse kernels when the layer's density is below the measured crossover and the
 * backend has them, the dense ones otherwise; `dense` and `sparse` force one (for experiments and tests).
 */
export type KernelMode = 'auto' | 'dense' | 'sparse';
export const kernelModes: readonly KernelMode[] = ['auto', 'dense', 'sparse'];

export function parseKernelMode(value: string): KernelMode {
  if (!(kernelModes as readonly string[]).includes(value)) {
    throw new UnknownNameError('kernel mode', value, kernelModes);
  }
  return value as KernelMode;
}

/**
 * Densities at or below which the sparse kernels beat tfjs-wasm's dense ones for a full training step
 * (forward, input gradient, weight gradient), measured per layer kind with `bench/sparse-crossover.ts`
 * (docs/DECISIONS.md, "Sparse training kernels"). A dense layer has a crossover of its own because
 * tfjs-wasm's dense matMul is much slower per multiply-add than its convolutions.
 */
export const sparseCrossover = { conv: 0.5, dense: 0.5 } as const;

/** Whether the sparse path is expected to be faster for a layer of `kind` at `density`. */
export function sparsePays(kind: keyof typeof sparseCrossover, density: number): boolean {
  return density <= sparseCrossover[kind];
}

/** The wasm backend when it is the active one and has the sparse kernels registered and loaded. */
export function sparseBackend(): BackendWasm | undefined {
  if (getBackend() !== 'wasm' || getKernel(SPARSE_CONV_FORWARD, 'wasm') === undefined) {
    return undefined;
  }
  const backend = engine().findBackend('wasm') as BackendWasm | null;
  if (backend === null || trainingWasmFor(backend) === undefined) return undefined;
  return backend;
}

/**
 * XNNPACK's share of `threads` for a run whose masked layers train on the sparse kernels from the start:
 * 1, so that dynaprune's kernels, which then do nearly all the work, split over every thread alone.
 * XNNPACK's pool threads spin between its ops; with two threads on 2 cores they took the second core from
 * dynaprune's kernel worker (paper-cnn-wide at 90%: 2 threads ran at 0.88× of one thread at main 72dd457,
 * and burned 20–50% more CPU per step than with XNNPACK on 1 thread; docs/DECISIONS.md, "Both cores").
 * Dense runs keep XNNPACK on every thread: its forward convolutions are half of their step.
 */
export function xnnpackThreadsFor(threads: number, trainsSparse: boolean): number {
  return trainsSparse ? 1 : threads;
}

/** Whether a run's masked layers start on the sparse kernels: forced, or `auto` below the crossover. */
export function trainsSparseFromStart(
  kernels: KernelMode,
  sparseFromStart: boolean,
  sparsity: number,
): boolean {
  if (kernels === 'dense' || !sparseFromStart) return false;
  return kernels === 'sparse' || sparsePays('conv', 1 - sparsity);
}
