// The activations dynamic layers accept, and which of them tfjs can fuse into conv2d/matMul.
import type { fused } from '@tensorflow/tfjs';
import { elu, relu, relu6, selu, sigmoid, softmax, tanh, type Tensor } from '@tensorflow/tfjs';
import { UnknownNameError } from '../errors.js';

export type ActivationName =
  'linear' | 'relu' | 'relu6' | 'elu' | 'selu' | 'sigmoid' | 'tanh' | 'softmax';
export const activationNames: readonly ActivationName[] = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'softmax',
];

/**
 * Activations tfjs-layers fuses into conv2d/matMul (its mapActivationToFusedKernel). Using the same set
 * makes a dynamic layer at sparsity 0 compute bit for bit what its tfjs counterpart computes, on every
 * backend (a fused bias add rounds differently from a separate one on XNNPACK).
 */
const fusable: ReadonlySet<string> = new Set(['linear', 'relu', 'elu']);

/** Whether tfjs-layers would fuse `a` into the conv/matMul. */
export function isFused(a: ActivationName): boolean {
  return fusable.has(a);
}

export function checkActivation(name: string | undefined): ActivationName {
  const a = name ?? 'linear';
  if (!(activationNames as readonly string[]).includes(a))
    throw new UnknownNameError('activation', a, activationNames);
  return a as ActivationName;
}

/** The activation to pass to tfjs's fused op, or 'linear' when it must be applied afterwards. */
export function fusedActivation(a: ActivationName): fused.Activation {
  return fusable.has(a) ? (a as fused.Activation) : 'linear';
}

/** Applies `a` if the fused op could not. */
export function applyUnfusedActivation(x: Tensor, a: ActivationName): Tensor {
  if (fusable.has(a)) return x;
  switch (a) {
    case 'selu':
      return selu(x);
    case 'tanh':
      return tanh(x);
    case 'softmax':
      return softmax(x);
    case 'relu6':
      return relu6(x);
    case 'sigmoid':
      return sigmoid(x);
    default:
      return x;
  }
}

/** Applies `a` on its own (no fusion). */
export function applyActivation(x: Tensor, a: ActivationName): Tensor {
  switch (a) {
    case 'linear':
      return x;
    case 'relu':
      return relu(x);
    case 'relu6':
      return relu6(x);
    case 'elu':
      return elu(x);
    case 'sigmoid':
      return sigmoid(x);
    default:
      return applyUnfusedActivation(x, a);
  }
}
