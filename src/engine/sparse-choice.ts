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
