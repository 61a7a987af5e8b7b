// Conv2DBackpropFilter for tfjs-wasm, which has none: a direct SIMD kernel, and the transposed-convolution workaround.
import type { backend_util, Conv2DBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel, disposeIntermediate, heapOffset } from '../wasm-heap.js';
import { trainingWasmFor } from '../training-wasm.js';
import { convGeometryArgs, convInfoOf, paddedConv, runSplit } from './conv-args.js';

export interface Conv2DBackpropFilterArgs {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}

function convInfo(x: TensorInfo, attrs: Conv2DBackpropFilterAttrs): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `dynaprune's wasm Conv2DBackpropFilter supports NHWC only, got ${attrs.dataFormat}`,
    );
  }
  return convInfoOf(x.shape, attrs.filterShape, attrs);
}

/**
 * The filter gradient as one forward convolution that XNNPACK runs (DESIGN.md, "the missing gradient is a
 * forward convolution"): the input transposed to [CI, H, W, N] is the batch, the output gradient
 * transposed to [OH, OW, N, CO] is the filter, the dilation is the forward stride, and the result,
 * sliced to [CI, KH, KW, CO], is transposed back to [KH, KW, CI, CO].
 */
export function conv2dBackpropFilterTransposedConv(args: Conv2DBackpropFilterArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const info = convInfo(x, attrs);
  const [kh, kw, ci, co] = attrs.filterShape;
  const { top, left } = info.padInfo;
  const effectiveH = (info.outHeight - 1) * info.strideHeight + 1;
  const effectiveW = (info.outWidth - 1) * info.strideWidth + 1;
  // Pad bottom/right only as far as needed for a KH x KW result; extra rows are sliced off below.
  const bottom = Math.max(0, kh - 1 + effectiveH - (info.inHeight + top));
  const right = Math.max(0, kw - 1 + effectiveW - (info.inWidth + left));

  const xT = callKernel(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const full = paddedConv(
    backend,
    xT,
    dyT,
    [top, bottom],
    [left, right],
    [info.strideHeight, info.strideWidth],
  );
  disposeIntermediate(backend, xT);
  disposeIntermediate(backend, dyT);
  let sliced = full;
  if (full.shape[1] !== kh || full.shape[2] !== kw) {
    sliced = callKernel(
      backend,
      'Slice',
      { x: full },
      { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] },
    );
    disposeIntermediate(backend, full);
  }
  const out = callKernel(backend, 'Transpose', { x: sliced }, { perm: [1, 2, 0, 3] });
  disposeIntermediate(backend, sliced);
  return out;
}

/**
 * The filter gradient by dynaprune's direct SIMD kernel (assembly/training), which reads x and dy where
 * tfjs keeps them and writes dw in place: no transposes, no packing. Falls back to the transposed
 * convolution when the kernels are not loaded or the output channels are not a multiple of 4.
 */
export function conv2dBackpropFilter(args: Conv2DBackpropFilterArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const kernels = trainingWasmFor(backend);
  const [kh, kw, ci, co] = attrs.filterShape;
  if (kernels === undefined || co % 4 !== 0) return conv2dBackpropFilterTransposedConv(args);
  const info = convInfo(x, attrs);
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  const pointers = [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out)];
  const tiles = kh * kw * Math.ceil(ci / 4);
  runSplit(
    backend,
    kernels,
    'conv2dFilterGradTiles',
    [...pointers, ...convGeometryArgs(info)],
    tiles,
  );
  return out;
}
