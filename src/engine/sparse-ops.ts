// The differentiable sparse conv/dense op: dynaprune's registered wasm kernels, with a gradient per input.
import { engine, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs';
import {
  SPARSE_CONV_FORWARD,
  SPARSE_CONV_GRAD_BLOCKED,
  SPARSE_CONV_INPUT_GRAD,
  SPARSE_CONV_WEIGHT_GRAD,
  type SparseConvAttrs,
} from './kernels/sparse-conv2d.js';

function run(name: string, inputs: Record<string, Tensor>, attrs: SparseConvAttrs): Tensor[] {
  const out = engine().runKernel(
    name,
    inputs as never,
    attrs as unknown as Record<string, never>,
  ) as Tensor | Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** The part of tfjs's engine that runs an op with its own gradient (what `tf.customGrad` is built on). */
interface CustomGradEngine {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: Tensor[]) => void) => Tensor;
    backwardsFunc: (dy: Tensor, saved: Tensor[]) => Record<string, () => Tensor>;
    inputs: NamedTensorMap;
  }): Tensor;
}

/**
 * y = act(x ⊛ kernel + bias) computed from the kernel's active positions only (the layout), with
 * act ∈ {linear, relu}. Differentiable: its gradient gives dx, the kernel gradient at the active positions
 * (zero elsewhere: a masked weight never moves) and the bias gradient.
 *
 * The gradient is one function per input, run only for the inputs the tape needs (tfjs's tape prunes
 * inputs that do not depend on the variables): a first layer whose input is the batch of images never
 * computes its input gradient. The three share the blocked output gradient, computed once when the
 * backward pass reaches the op (and freed once the input and kernel gradients are done), and the im2col
 * the forward pass saved. `tf.customGrad` would call one function for all three gradients.
 * The result is owned by the caller (or the enclosing tidy).
 */
export function sparseConv(
  x: Tensor,
  kernel: Tensor,
  bias: Tensor | undefined,
  attrs: SparseConvAttrs,
): Tensor {
  const inputs: NamedTensorMap = bias === undefined ? { x, kernel } : { x, kernel, bias };
  return (engine() as unknown as CustomGradEngine).runKernelFunc({
    forwardFunc: (_backend, save) => {
      const [y, cols] = run(SPARSE_CONV_FORWARD, inputs as Record<string, Tensor>, attrs) as [
        Tensor,
        Tensor,
      ];
      save(bias === undefined ? [y, cols, kernel] : [y, cols, kernel, bias]);
      return y;
    },
    backwardsFunc: (dy, saved) => {
      const [y, cols, savedKernel, savedBias] = saved as [Tensor, Tensor, Tensor, Tensor?];
      // The bias among the inputs asks for its gradient too.
      const blockedInputs: Record<string, Tensor> = savedBias
        ? { dy, y, bias: savedBias }
        : { dy, y };
      const [dyt, db] = run(SPARSE_CONV_GRAD_BLOCKED, blockedInputs, attrs) as [Tensor, Tensor?];
      // dyt is freed once the gradients that read it are done; if the tape needs only one of them, the
      // backward pass's own scope frees it.
      const pending = new Set(['x', 'kernel']);
      const done = (input: string) => {
        pending.delete(input);
        if (pending.size === 0) dyt.dispose();
      };
      const gradients: Record<string, () => Tensor> = {
        x: () => {
          const [dx] = run(SPARSE_CONV_INPUT_GRAD, { dyt, kernel: savedKernel }, attrs);
          done('x');
          return dx!;
        },
        kernel: () => {
          const [dw] = run(SPARSE_CONV_WEIGHT_GRAD, { cols, dyt, kernel: savedKernel }, attrs);
          done('kernel');
          return dw!;
        },
      };
      if (db !== undefined) gradients['bias'] = () => db;
      return gradients;
    },
    inputs,
  });
}
