// The sparse training kernels of masked conv and dense layers on tfjs-wasm: forward, and input + weight gradients.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../../errors.js';
import type { SparseLayout } from '../sparse-layout.js';
import {
  trainingWasmFor,
  type ConvGeometryArgs,
  type TrainingWasmExports,
} from '../training-wasm.js';
import { disposeIntermediate, heapOffset } from '../wasm-heap.js';

export const SPARSE_CONV_FORWARD = 'DynaprunSparseConv2D';
export const SPARSE_CONV_BACKPROP = 'DynaprunSparseConv2DBackprop';

/**
 * A convolution's sizes, NHWC, with explicit top/left padding: {@link ConvGeometryArgs} by name. A dense
 * layer is the 1×1 convolution of a 1×1 image: h = w = oh = ow = kh = kw = strides = 1, pads 0,
 * ci = input features, n = batch.
 */
export interface SparseConvGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly ci: number;
  readonly oh: number;
  readonly ow: number;
  readonly co: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
}

/** The geometry as the kernels take it after their pointers (the same order as the record's fields). */
function geometryArgs(g: SparseConvGeometry): ConvGeometryArgs {
  return [g.n, g.h, g.w, g.ci, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl];
}

/** The attributes both kernels take. */
export interface SparseConvAttrs {
  readonly layout: SparseLayout;
  readonly geometry: SparseConvGeometry;
  /** ReLU fused into the forward pass (and its gradient into the backward pass). */
  readonly relu: boolean;
  /** The shapes tfjs sees: the input's (NHWC or [N, features]) and the output's. */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
}

interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

function prepare(args: KernelArgs): {
  kernels: TrainingWasmExports;
  attrs: SparseConvAttrs;
  k: number;
  p: number;
  blocks: number;
} {
  const kernels = trainingWasmFor(args.backend);
  if (kernels === undefined) {
    throw new BackendError(
      "dynaprune's sparse training kernels need the wasm backend with its SIMD kernels loaded " +
        '(initBackend("wasm")); use the dense kernels on other backends.',
    );
  }
  const attrs = args.attrs as unknown as SparseConvAttrs;
  const g = attrs.geometry;
  const k = g.kh * g.kw * g.ci;
  if (attrs.layout.k !== k || attrs.layout.co !== g.co) {
    throw new BackendError(
      `sparse layout ${attrs.layout.k} x ${attrs.layout.co} does not fit a ${k} x ${g.co} kernel`,
    );
  }
  const p = g.n * g.oh * g.ow;
  return { kernels, attrs, k, p, blocks: Math.ceil(p / 32) };
}

/** Gathers the active weights of `kernel` in CSR (`csr` true) or CSC order into a fresh heap buffer. */
function gather(
  backend: BackendWasm,
  kernels: TrainingWasmExports,
  layout: SparseLayout,
  kernel: TensorInfo,
  csr: boolean,
): TensorInfo {
  const values = backend.makeOutput([Math.max(1, layout.nnz)], 'float32');
  kernels.gatherValues(
    heapOffset(backend, kernel),
    (csr ? layout.rowPtr : layout.cscPtr).offset,
    (csr ? layout.colIdx : layout.cscRow).offset,
    csr ? layout.co : layout.k,
    layout.co,
    csr ? 1 : 0,
    heapOffset(backend, values),
  );
  return values;
}

/**
 * Forward: inputs x, kernel (dense shape; only active positions are read) and optional bias. Outputs
 * [y, cols]: y = act(x ⊛ (kernel at the layout's positions) + bias), and the blocked im2col of x, which
 * the backward kernel reuses for the weight gradient.
 */
export function sparseConvForward(args: KernelArgs): TensorInfo[] {
  const { backend, inputs } = args;
  const { kernels, attrs, k, p, blocks } = prepare(args);
  const { geometry: g, layout } = attrs;
  const x = inputs['x']!;
  const bias = inputs['bias'];
  const cols = backend.makeOutput([blocks * k * 32], 'float32');
  kernels.im2colBlocked(heapOffset(backend, x), heapOffset(backend, cols), ...geometryArgs(g));
  const values = gather(backend, kernels, layout, inputs['kernel']!, true);
  const y = backend.makeOutput([...attrs.outShape], 'float32');
  kernels.sparseConvForward(
    heapOffset(backend, cols),
    k,
    p,
    layout.rowPtr.offset,
    layout.colIdx.offset,
    heapOffset(backend, values),
    g.co,
    bias ? heapOffset(backend, bias) : 0,
    bias ? 1 : 0,
    attrs.relu ? 1 : 0,
    heapOffset(backend, y),
  );
  disposeIntermediate(backend, values);
  return [y, cols];
}

/**
 * Backward: inputs dy, y (the forward output, for the fused ReLU), cols (from the forward kernel) and
 * kernel. Outputs [dx, dkernel, dbias]: dkernel has the kernel's dense shape but is computed only at the
 * layout's positions (zero elsewhere); dbias is the sum of dy over batch and space.
 */
export function sparseConvBackprop(args: KernelArgs): TensorInfo[] {
  const { backend, inputs } = args;
  const { kernels, attrs, k, p, blocks } = prepare(args);
  const { geometry: g, layout } = attrs;
  const kernel = inputs['kernel']!;
  const dyt = backend.makeOutput([blocks * g.co * 32], 'float32');
  const db = backend.makeOutput([g.co], 'float32');
  kernels.gradToBlocked(
    heapOffset(backend, inputs['dy']!),
    heapOffset(backend, inputs['y']!),
    attrs.relu ? 1 : 0,
    p,
    g.co,
    heapOffset(backend, dyt),
    heapOffset(backend, db),
    1,
  );
  const dw = backend.makeOutput([...kernel.shape], 'float32');
  const acc = backend.makeOutput([Math.max(1, layout.nnz) * 4], 'float32');
  kernels.sparseConvWeightGrad(
    heapOffset(backend, inputs['cols']!),
    heapOffset(backend, dyt),
    k,
    p,
    g.co,
    layout.rowPtr.offset,
    layout.colIdx.offset,
    heapOffset(backend, acc),
    heapOffset(backend, dw),
  );
  disposeIntermediate(backend, acc);
  const values = gather(backend, kernels, layout, kernel, false);
  const scratch = backend.makeOutput([k * 32], 'float32');
  const dx = backend.makeOutput([...attrs.inShape], 'float32');
  kernels.sparseConvInputGrad(
    heapOffset(backend, dyt),
    layout.cscPtr.offset,
    layout.cscRow.offset,
    heapOffset(backend, values),
    heapOffset(backend, scratch),
    heapOffset(backend, dx),
    ...geometryArgs(g),
  );
  disposeIntermediate(backend, values);
  disposeIntermediate(backend, scratch);
  disposeIntermediate(backend, dyt);
  return [dx, dw, db];
}
