// The sparse training kernels of masked conv and dense layers on tfjs-wasm: forward, and the three gradients' steps.
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
import { runSplit, splitThreads } from './conv-args.js';

export const SPARSE_CONV_FORWARD = 'DynaprunSparseConv2D';
/** The output gradient in blocked form (and the bias gradient): what both other gradients read. */
export const SPARSE_CONV_GRAD_BLOCKED = 'DynaprunSparseConv2DGradBlocked';
/** The kernel gradient at the active positions. */
export const SPARSE_CONV_WEIGHT_GRAD = 'DynaprunSparseConv2DWeightGrad';
/** The input gradient. */
export const SPARSE_CONV_INPUT_GRAD = 'DynaprunSparseConv2DInputGrad';

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

/** The attributes every sparse kernel takes. */
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
 * the weight gradient reuses.
 */
export function sparseConvForward(args: KernelArgs): TensorInfo[] {
  const { backend, inputs } = args;
  const { kernels, attrs, k, p, blocks } = prepare(args);
  const { geometry: g, layout } = attrs;
  const x = inputs['x']!;
  const bias = inputs['bias'];
  const cols = backend.makeOutput([blocks * k * 32], 'float32');
  const colsAt = heapOffset(backend, cols);
  runSplit(
    backend,
    kernels,
    'im2colBlocked',
    [heapOffset(backend, x), colsAt, ...geometryArgs(g)],
    blocks,
  );
  const values = gather(backend, kernels, layout, inputs['kernel']!, true);
  const y = backend.makeOutput([...attrs.outShape], 'float32');
  // One block of output ([CO][32] floats) per thread, turned into NHWC by 4 × 4 transposes.
  const scratch = backend.makeOutput([splitThreads(backend) * g.co * 32], 'float32');
  const scratchAt = heapOffset(backend, scratch);
  runSplit(
    backend,
    kernels,
    'sparseConvForward',
    [
      colsAt,
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
    ],
    blocks,
    (thread) => [scratchAt + thread * g.co * 32 * 4],
  );
  disposeIntermediate(backend, values);
  disposeIntermediate(backend, scratch);
  return [y, cols];
}

/**
 * The first step of the backward pass: inputs dy, y (the forward output, for the fused ReLU) and, when the
 * op has one, bias (which asks for its gradient; its values are not read). Outputs [dyt] or [dyt, dbias]:
 * the output gradient in the blocked layout both other gradients read (zero where the fused ReLU was
 * inactive), and its sum over batch and space.
 */
export function sparseConvGradBlocked(args: KernelArgs): TensorInfo[] {
  const { backend, inputs } = args;
  const { kernels, attrs, p, blocks } = prepare(args);
  const g = attrs.geometry;
  const dyt = backend.makeOutput([blocks * g.co * 32], 'float32');
  const dytAt = heapOffset(backend, dyt);
  runSplit(
    backend,
    kernels,
    'gradToBlocked',
    [
      heapOffset(backend, inputs['dy']!),
      heapOffset(backend, inputs['y']!),
      attrs.relu ? 1 : 0,
      p,
      g.co,
      dytAt,
    ],
    blocks,
  );
  if (inputs['bias'] === undefined) return [dyt];
  const db = backend.makeOutput([g.co], 'float32');
  kernels.blockedBiasGrad(dytAt, p, g.co, heapOffset(backend, db));
  return [dyt, db];
}

/**
 * The kernel gradient: inputs cols (from the forward kernel), dyt (from the blocked-gradient kernel) and
 * kernel (for its shape only). The output has the kernel's dense shape but is computed only at the
 * layout's positions (zero elsewhere).
 */
export function sparseConvWeightGrad(args: KernelArgs): TensorInfo {
  const { backend, inputs } = args;
  const { kernels, attrs, k, p } = prepare(args);
  const { geometry: g, layout } = attrs;
  const dw = backend.makeOutput([...inputs['kernel']!.shape], 'float32');
  const acc = backend.makeOutput([Math.max(1, layout.nnz) * 4], 'float32');
  const dwAt = heapOffset(backend, dw);
  kernels.zeroFill(dwAt, k * g.co * 4);
  runSplit(
    backend,
    kernels,
    'sparseConvWeightGrad',
    [
      heapOffset(backend, inputs['cols']!),
      heapOffset(backend, inputs['dyt']!),
      k,
      p,
      g.co,
      layout.rowPtr.offset,
      layout.colIdx.offset,
      heapOffset(backend, acc),
      dwAt,
    ],
    g.co,
  );
  disposeIntermediate(backend, acc);
  return dw;
}

/** The input gradient: inputs dyt (blocked output gradient) and kernel. Output dx, the input's shape. */
export function sparseConvInputGrad(args: KernelArgs): TensorInfo {
  const { backend, inputs } = args;
  const { kernels, attrs, k } = prepare(args);
  const { geometry: g, layout } = attrs;
  const values = gather(backend, kernels, layout, inputs['kernel']!, false);
  // One block of scratch per thread.
  const scratch = backend.makeOutput([splitThreads(backend) * k * 32], 'float32');
  const scratchAt = heapOffset(backend, scratch);
  const dx = backend.makeOutput([...attrs.inShape], 'float32');
  runSplit(
    backend,
    kernels,
    'sparseConvInputGrad',
    [
      heapOffset(backend, inputs['dyt']!),
      layout.cscPtr.offset,
      layout.cscRow.offset,
      heapOffset(backend, values),
      heapOffset(backend, dx),
      ...geometryArgs(g),
    ],
    g.n,
    (thread) => [scratchAt + thread * k * 32 * 4],
  );
  disposeIntermediate(backend, values);
  disposeIntermediate(backend, scratch);
  return dx;
}
