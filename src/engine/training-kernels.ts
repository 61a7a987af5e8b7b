// Explicit, idempotent registration of dynaprune's training kernels on the tfjs wasm backend.
import {
  engine,
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { makeBatchMatMul } from './kernels/batch-mat-mul.js';
import {
  conv2dBackpropFilter,
  conv2dBackpropFilterTransposedConv,
} from './kernels/conv2d-backprop-filter.js';
import { makeConv2dBackpropInput } from './kernels/conv2d-backprop-input.js';
import { maxPoolGrad } from './kernels/max-pool-grad.js';
import { RELU_GRAD, reluGrad, reluGradConfig } from './kernels/relu-grad.js';
import { makeMean, makeSum } from './kernels/sum.js';
import { makeTile } from './kernels/tile.js';
import { makeTranspose } from './kernels/transpose.js';
import { identityShared } from './kernels/identity.js';
import {
  SPARSE_CONV_FORWARD,
  SPARSE_CONV_GRAD_BLOCKED,
  SPARSE_CONV_INPUT_GRAD,
  SPARSE_CONV_WEIGHT_GRAD,
  sparseConvForward,
  sparseConvGradBlocked,
  sparseConvInputGrad,
  sparseConvWeightGrad,
} from './kernels/sparse-conv2d.js';
import {
  prepareTrainingWasm,
  type TrainingWasmOptions,
  type TrainingWasmStatus,
} from './training-wasm.js';

/**
 * Which kernels to install:
 * - `all`: every dynaprune kernel (the default, and the fast one);
 * - `transposed-conv-only`: only the filter gradient, as the transposed-convolution workaround of
 *   DESIGN.md, over tfjs-wasm's stock kernels. This is the yardstick of `bench/train-throughput`.
 */
export type TrainingKernelSet = 'all' | 'transposed-conv-only';

export const trainingKernelSets: readonly TrainingKernelSet[] = ['all', 'transposed-conv-only'];

export interface TrainingKernelReport {
  readonly set: TrainingKernelSet;
  /** Kernel names now served by dynaprune on the wasm backend. */
  readonly kernels: readonly string[];
  /** Whether the SIMD kernels (assembly/training) are in use, and why not if they are not. */
  readonly simd: TrainingWasmStatus;
}

const BACKEND = 'wasm';
/** tfjs-wasm's own configs for the kernels we replace, saved before the first replacement. */
const stockConfigs = new Map<string, KernelConfig | undefined>();
/** tfjs's own ReLU gradient, saved before dynaprune's replaces it (gradients are not per backend). */
let stockReluGrad: GradConfig | undefined;
let installed: TrainingKernelSet | undefined;

function replaceKernel(kernelName: string, kernelFunc: KernelFunc): void {
  if (!stockConfigs.has(kernelName)) stockConfigs.set(kernelName, getKernel(kernelName, BACKEND));
  if (getKernel(kernelName, BACKEND) !== undefined) unregisterKernel(kernelName, BACKEND);
  registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
}

function stockFunc(kernelName: string): KernelFunc {
  if (!stockConfigs.has(kernelName)) stockConfigs.set(kernelName, getKernel(kernelName, BACKEND));
  const config = stockConfigs.get(kernelName);
  if (config === undefined) {
    throw new BackendError(
      `tfjs-wasm has no ${kernelName} kernel; is @tensorflow/tfjs-backend-wasm loaded?`,
    );
  }
  return config.kernelFunc;
}

/** Puts back tfjs-wasm's own kernels (or none, where it had none). Idempotent. */
export function unregisterTrainingKernels(): void {
  for (const [kernelName, config] of stockConfigs) {
    if (getKernel(kernelName, BACKEND) !== undefined) unregisterKernel(kernelName, BACKEND);
    if (config !== undefined) registerKernel(config);
  }
  if (stockReluGrad !== undefined) registerGradient(stockReluGrad);
  installed = undefined;
}

/**
 * Installs the training kernels that tfjs-wasm lacks (Conv2DBackpropFilter) or runs slowly
 * (Conv2DBackpropInput, MaxPoolGrad, transposed BatchMatMul, Sum over leading axes). Call it once the wasm backend is ready;
 * calling it again, with the same or another set, is safe. `{ simd: false }` runs them on their
 * fallbacks, as when the SIMD kernels fail to load ({@link TrainingWasmOptions}).
 */
export async function registerTrainingKernels(
  set: TrainingKernelSet = 'all',
  options: TrainingWasmOptions = {},
): Promise<TrainingKernelReport> {
  const backend = engine().findBackend(BACKEND) as BackendWasm | null;
  if (backend === null) {
    throw new BackendError(
      'The wasm backend is not initialized. Import @tensorflow/tfjs-backend-wasm and ' +
        "await tf.setBackend('wasm') before registering training kernels.",
    );
  }
  const simd = await prepareTrainingWasm(backend, options);
  if (installed !== set) {
    unregisterTrainingKernels();
    if (set === 'transposed-conv-only') {
      replaceKernel(
        'Conv2DBackpropFilter',
        conv2dBackpropFilterTransposedConv as unknown as KernelFunc,
      );
    } else {
      const stockInput = stockFunc('Conv2DBackpropInput');
      const stockMatMul = stockFunc('BatchMatMul');
      const stockSum = stockFunc('Sum');
      const stockMean = stockFunc('Mean');
      const stockTile = stockFunc('Tile');
      const stockTranspose = stockFunc('Transpose');
      replaceKernel('Conv2DBackpropFilter', conv2dBackpropFilter as unknown as KernelFunc);
      replaceKernel('Conv2DBackpropInput', makeConv2dBackpropInput(stockInput));
      replaceKernel('MaxPoolGrad', maxPoolGrad as unknown as KernelFunc);
      replaceKernel('BatchMatMul', makeBatchMatMul(stockMatMul));
      replaceKernel('Sum', makeSum(stockSum));
      replaceKernel('Mean', makeMean(stockMean));
      replaceKernel('Tile', makeTile(stockTile));
      replaceKernel('Transpose', makeTranspose(stockTranspose));
      const stockIdentity = stockFunc('Identity');
      replaceKernel('Identity', ((args: Parameters<typeof identityShared>[0]) =>
        args.inputs.x.dtype === 'string'
          ? stockIdentity(args as never)
          : identityShared(args)) as unknown as KernelFunc);
      // New kernels (tfjs has no sparse convolution): the sparse path of masked layers.
      replaceKernel(SPARSE_CONV_FORWARD, sparseConvForward as unknown as KernelFunc);
      replaceKernel(SPARSE_CONV_GRAD_BLOCKED, sparseConvGradBlocked as unknown as KernelFunc);
      replaceKernel(SPARSE_CONV_WEIGHT_GRAD, sparseConvWeightGrad as unknown as KernelFunc);
      replaceKernel(SPARSE_CONV_INPUT_GRAD, sparseConvInputGrad as unknown as KernelFunc);
      // ReLU's gradient in one pass on wasm (tfjs's own elsewhere): gradients are global, so the config
      // checks the backend on each call.
      replaceKernel(RELU_GRAD, reluGrad as unknown as KernelFunc);
      stockReluGrad ??= getGradient('Relu');
      if (stockReluGrad !== undefined) registerGradient(reluGradConfig(stockReluGrad));
    }
    installed = set;
  }
  const kernels =
    set === 'all'
      ? [
          'Conv2DBackpropFilter',
          'Conv2DBackpropInput',
          'MaxPoolGrad',
          'BatchMatMul',
          'Sum',
          'Mean',
          'Tile',
          'Identity',
          SPARSE_CONV_FORWARD,
          SPARSE_CONV_GRAD_BLOCKED,
          SPARSE_CONV_WEIGHT_GRAD,
          SPARSE_CONV_INPUT_GRAD,
          RELU_GRAD,
        ]
      : ['Conv2DBackpropFilter'];
  return { set, kernels, simd };
}
