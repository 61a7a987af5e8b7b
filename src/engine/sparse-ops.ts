// The differentiable sparse conv/dense op: dynaprune's registered wasm kernels tied together by tf.customGrad.
import { customGrad, engine, type GradSaveFunc, type Tensor } from '@tensorflow/tfjs';
import {
  SPARSE_CONV_BACKPROP,
  SPARSE_CONV_FORWARD,
  type SparseConvAttrs,
} from './kernels/sparse-conv2d.js';

function run(name: string, inputs: Record<string, Tensor>, attrs: SparseConvAttrs): Tensor[] {
  return engine().runKernel(
    name,
    inputs as never,
    attrs as unknown as Record<string, never>,
  ) as Tensor[];
}

/**
 * y = act(x ⊛ kernel + bias) computed from the kernel's active positions only (the layout), with
 * act ∈ {linear, relu}. Differentiable: its gradient gives dx, the kernel gradient at the active positions
 * (zero elsewhere: a masked weight never moves) and the bias gradient, all from one backward kernel.
 * customGrad rather than a registerGradient per kernel because the three gradients share the blocked
 * output gradient and the saved im2col, which tfjs's per-input gradient functions could not share.
 * The result is owned by the caller (or the enclosing tidy).
 */
export function sparseConv(
  x: Tensor,
  kernel: Tensor,
  bias: Tensor | undefined,
  attrs: SparseConvAttrs,
): Tensor {
  const op = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args[args.length - 1] as GradSaveFunc;
    const inputs: Record<string, Tensor> = { x: args[0] as Tensor, kernel: args[1] as Tensor };
    if (bias !== undefined) inputs['bias'] = args[2] as Tensor;
    const [y, cols] = run(SPARSE_CONV_FORWARD, inputs, attrs) as [Tensor, Tensor];
    save([y, cols, inputs['kernel']!]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [savedY, savedCols, savedKernel] = saved as [Tensor, Tensor, Tensor];
        const [dx, dw, db] = run(
          SPARSE_CONV_BACKPROP,
          { dy, y: savedY, cols: savedCols, kernel: savedKernel },
          attrs,
        ) as [Tensor, Tensor, Tensor];
        if (bias !== undefined) return [dx, dw, db];
        db.dispose();
        return [dx, dw];
      },
    };
  });
  return bias === undefined ? op(x, kernel) : op(x, kernel, bias);
}
