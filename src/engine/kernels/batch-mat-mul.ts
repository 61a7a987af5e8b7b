// BatchMatMul for tfjs-wasm that sends transposed products down the fast (XNNPACK) path.
import type { BatchMatMulAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel, disposeIntermediate } from '../wasm-heap.js';

interface BatchMatMulArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: BackendWasm;
  attrs: BatchMatMulAttrs;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * tfjs-wasm multiplies untransposed operands with XNNPACK but falls back to a scalar loop when either
 * operand is transposed, which every dense layer's backward pass asks for. Transposing explicitly first
 * costs one copy of the operand and is several times faster overall.
 */
export function makeBatchMatMul(stock: KernelFunc): KernelFunc {
  return ((args: BatchMatMulArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    if (!attrs.transposeA && !attrs.transposeB) return stock(args as never) as TensorInfo;
    const { a, b } = inputs;
    const aT = attrs.transposeA
      ? callKernel(backend, 'Transpose', { x: a }, { perm: swapLastTwo(a.shape.length) })
      : a;
    const bT = attrs.transposeB
      ? callKernel(backend, 'Transpose', { x: b }, { perm: swapLastTwo(b.shape.length) })
      : b;
    const out = stock({
      inputs: { a: aT, b: bT },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    } as never) as TensorInfo;
    if (aT !== a) disposeIntermediate(backend, aT);
    if (bT !== b) disposeIntermediate(backend, bT);
    return out;
  }) as unknown as KernelFunc;
}
