// Conv2DBackpropInput for tfjs-wasm as a forward convolution that XNNPACK runs, replacing the stock scalar loop.
import type {
  backend_util,
  Conv2DBackpropInputAttrs,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeIntermediate, heapFloat32, heapOffset } from '../wasm-heap.js';
import { trainingWasmFor, type TrainingWasmExports } from '../training-wasm.js';
import { convGeometryArgs, convInfoOf, paddedConv, runSplit } from './conv-args.js';

export interface Conv2DBackpropInputArgs {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}

/** [KH, KW, CI, CO] -> [KH, KW, CO, CI], reversed in both spatial axes (the fallback path only). */
function flipFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = heapFloat32(backend, filter);
  const dst = heapFloat32(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const s = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      const d = (a * kw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[d + o * ci + i] = src[s + i * co + o]!;
      }
    }
  }
  return out;
}

/** dy [N, OH, OW, C] spread onto a zero grid with stride gaps: [N, (OH-1)*SH+1, (OW-1)*SW+1, C]. */
function dilate(backend: BackendWasm, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const out = backend.makeOutput([n, dh, dw, c], 'float32');
  const src = heapFloat32(backend, dy);
  const dst = heapFloat32(backend, out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const s = ((b * oh + i) * ow + j) * c;
        dst.set(src.subarray(s, s + c), ((b * dh + i * sh) * dw + j * sw) * c);
      }
    }
  }
  return out;
}

/**
 * The input gradient by dynaprune's direct kernel (assembly/training/conv.ts, `convInputGrad`): each tile
 * of 4 output pixels × 8 input channels is summed over the output channels in registers and added into
 * dx at the position each tap saw, so exactly the forward pass's multiply-adds are done, whatever the
 * stride or padding, and the [N·OH·OW, KH·KW·CI] matrix of partial sums (18.7 MB for paper-cnn-wide's
 * conv2 at batch 32, which the previous matrix product + col2im wrote and read back) never exists.
 */
function viaDirectKernel(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  kernels: TrainingWasmExports,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const blocks = Math.ceil(ci / 8);
  const packed = backend.makeOutput([kh * kw * co * blocks * 8], 'float32');
  const packedAt = heapOffset(backend, packed);
  kernels.packTransposed(heapOffset(backend, filter), packedAt, kh * kw, ci, co);
  // Three i32 per output pixel, in a float32 tensor's bytes.
  const corners = backend.makeOutput([3 * n * oh * ow], 'float32');
  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  const geometry = convGeometryArgs(info);
  const cornersAt = heapOffset(backend, corners);
  const dxAt = heapOffset(backend, dx);
  kernels.convInputGradPrepare(dxAt, cornersAt, ...geometry);
  const pointers = [heapOffset(backend, dy), packedAt, dxAt, cornersAt];
  runSplit(backend, kernels, 'convInputGradBlocks', [...pointers, ...geometry], blocks);
  disposeIntermediate(backend, packed);
  disposeIntermediate(backend, corners);
  return dx;
}

/**
 * Builds the kernel. With dynaprune's SIMD kernels it runs {@link viaDirectKernel}. Without them the
 * input gradient is the convolution (XNNPACK) of the (stride-dilated) output gradient with the filter
 * flipped in space and transposed in channels, padded by K - 1 - pad. Shapes neither covers (NCHW; pads
 * larger than the kernel without the SIMD kernels) go to `stock`, tfjs-wasm's own kernel.
 */
export function makeConv2dBackpropInput(stock: KernelFunc): KernelFunc {
  return ((args: Conv2DBackpropInputArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    if (attrs.dataFormat !== 'NHWC') return stock(args as never) as TensorInfo;
    const info = convInfoOf(attrs.inputShape, filter.shape, attrs);
    const kernels = trainingWasmFor(backend);
    if (kernels !== undefined) return viaDirectKernel(backend, dy, filter, info, kernels);
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const spread = sh > 1 || sw > 1 ? dilate(backend, dy, sh, sw) : dy;
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = info.inHeight + kh - 1 - top - spread.shape[1]!;
    const right = info.inWidth + kw - 1 - left - spread.shape[2]!;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) {
      if (spread !== dy) disposeIntermediate(backend, spread);
      return stock(args as never) as TensorInfo;
    }
    const flipped = flipFilter(backend, filter);
    const out = paddedConv(backend, spread, flipped, [top, bottom], [left, right], 1);
    disposeIntermediate(backend, flipped);
    if (spread !== dy) disposeIntermediate(backend, spread);
    return out;
  }) as unknown as KernelFunc;
}
