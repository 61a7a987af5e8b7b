// MaxPoolGrad for tfjs-wasm: a SIMD kernel, replacing the stock one (slow, and wrong: see test/engine).
import { backend_util } from '@tensorflow/tfjs';
import type { MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapFloat32, heapOffset } from '../wasm-heap.js';
import { trainingWasmFor } from '../training-wasm.js';

export interface MaxPoolGradArgs {
  inputs: { dy: TensorInfo; input: TensorInfo };
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}

/**
 * Each output's gradient goes to the first position holding its window's maximum, as on tfjs's cpu
 * backend; overlapping windows accumulate.
 */
export function maxPoolGrad(args: MaxPoolGradArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = backend.makeOutput(input.shape, 'float32');
  const kernels = trainingWasmFor(backend);
  if (kernels !== undefined) {
    const [xp, dyp, dxp] = [
      heapOffset(backend, input),
      heapOffset(backend, dy),
      heapOffset(backend, dx),
    ];
    const tiled = sh === fh && sw === fw && pt === 0 && pl === 0 && oh * fh <= h && ow * fw <= w;
    if (tiled && c % 4 === 0) {
      kernels.maxPoolGradTiled(xp, dyp, dxp, n, h, w, c, oh, ow, fh, fw);
    } else {
      kernels.maxPoolGrad(xp, dyp, dxp, n, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl);
    }
    return dx;
  }
  const x = heapFloat32(backend, input);
  const g = heapFloat32(backend, dy);
  const out = heapFloat32(backend, dx);
  out.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const hs = Math.max(0, i * sh - pt);
      const he = Math.min(h, i * sh - pt + fh);
      for (let j = 0; j < ow; j++) {
        const ws = Math.max(0, j * sw - pl);
        const we = Math.min(w, j * sw - pl + fw);
        const gRow = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          let best = -Infinity;
          let bestAt = -1;
          for (let y = hs; y < he; y++) {
            for (let z = ws; z < we; z++) {
              const at = ((b * h + y) * w + z) * c + k;
              if (x[at]! > best) {
                best = x[at]!;
                bestAt = at;
              }
            }
          }
          if (bestAt >= 0) out[bestAt]! += g[gRow + k]!;
        }
      }
    }
  }
  return dx;
}
