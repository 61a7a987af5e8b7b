// Loads the runtime's WebAssembly SIMD kernels through explicit states, with SIMD detection and a clear fallback.
import { wasmBase64 } from './generated/runtime-kernels-wasm.js';

/** A window slid over C planes [h, w] into [oh, ow]: kernel (or pool) size, strides, padding before. */
type WindowArgs = [
  x: number,
  out: number,
  c: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
];

/** C planes [h, w] read with strides and the padding before them. */
type StridedPlaneArgs = [
  x: number,
  out: number,
  c: number,
  h: number,
  w: number,
  pt: number,
  pl: number,
  sh: number,
  sw: number,
];

/** A CSR matrix: row pointers, per-nonzero column indices (or byte offsets), values, rows. */
type CsrArgs = [rowPtr: number, index: number, values: number, rows: number];

/** The right-hand side of a matrix product (rows `stride` floats apart, `p` columns) and its result. */
type ProductArgs = [
  cols: number,
  stride: number,
  p: number,
  bias: number,
  hasBias: number,
  relu: number,
  out: number,
  outStride: number,
];

/**
 * What a conv kernel does as it stores its result (each 0 for none): adds `residual` (an image laid out like
 * the result) before the activation, and writes `second` = max(result · scale[c] + shift[c], 0) (the next
 * layer's BatchNorm + ReLU) beside the result.
 */
type EpilogueArgs = [residual: number, scale: number, shift: number, second: number];

/** A direct sparse conv: CSR rows with byte offsets into the laid-out input, and its result. */
type DirectConvArgs = [
  ...CsrArgs,
  x: number,
  pixels: number,
  bias: number,
  relu: number,
  out: number,
  outStride: number,
];

/** The functions exported by assembly/runtime/index.ts (byte offsets and sizes). */
export interface RuntimeKernels {
  im2col(...args: [...WindowArgs, stride: number]): void;
  pool(...args: [...WindowArgs, isMax: number]): void;
  spmm(...args: [...CsrArgs, ...ProductArgs]): void;
  gemm(...args: [w: number, rows: number, k: number, ...ProductArgs]): void;
  gemmEpilogue(
    ...args: [w: number, rows: number, k: number, ...ProductArgs, ...EpilogueArgs]
  ): void;
  channelAffine(
    x: number,
    out: number,
    c: number,
    size: number,
    scale: number,
    shift: number,
    relu: number,
  ): void;
  addArrays(a: number, b: number, out: number, n: number, relu: number): void;
  padInterior(
    x: number,
    out: number,
    c: number,
    h: number,
    w: number,
    first: number,
    wp: number,
    plane: number,
  ): void;
  /** `offsets` holds each nonzero's byte offset into the laid-out input. */
  sparseConvDirect(...args: DirectConvArgs): void;
  sparseConvDirectEpilogue(...args: [...DirectConvArgs, ...EpilogueArgs]): void;
  compactRows(x: number, out: number, rows: number, wp: number, ow: number): void;
  /** compactRows over a conv's C·OH rows, with its epilogue. */
  compactRowsEpilogue(
    ...args: [
      x: number,
      out: number,
      c: number,
      oh: number,
      wp: number,
      ow: number,
      ...EpilogueArgs,
    ]
  ): void;
  gatherPhases(...args: [...StridedPlaneArgs, hq: number, wq: number]): void;
  gatherShifted(
    ...args: [...StridedPlaneArgs, ah: number, kw: number, hq: number, ow: number]
  ): void;
  reluArrays(x: number, out: number, n: number): void;
  toFeatureLane(
    x: number,
    c: number,
    plane: number,
    mean: number,
    out: number,
    stride: number,
  ): void;
  /** The input's features are `stride` floats apart. */
  spmv(
    ...args: [
      ...CsrArgs,
      x: number,
      stride: number,
      bias: number,
      relu: number,
      out: number,
      outStride: number,
    ]
  ): void;
}

/** Where the kernels are: not started, starting, ready, or failed (with why). */
export type KernelState =
  | { readonly state: 'not-started' }
  | { readonly state: 'starting' }
  | { readonly state: 'ready' }
  | { readonly state: 'failed'; readonly reason: string };

// The smallest module using a SIMD instruction (v128.const, then drop): validates only with SIMD support.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 23, 1, 21, 0, 253, 12, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 11,
]);

/** Whether this JavaScript engine runs WebAssembly SIMD. */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

let state: KernelState = { state: 'not-started' };
let compiled: Promise<WebAssembly.Module> | undefined;

export function kernelState(): KernelState {
  return state;
}

function decodeBase64(text: string): Uint8Array {
  if (typeof atob === 'function') {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  return Uint8Array.from(Buffer.from(text, 'base64'));
}

/**
 * Instantiates the kernels on `memory`. Rejects (and records the failed state) when WebAssembly or its
 * SIMD extension is missing; callers fall back to the reference ops.
 */
export async function instantiateKernels(memory: WebAssembly.Memory): Promise<RuntimeKernels> {
  if (!simdSupported()) {
    state = { state: 'failed', reason: 'this JavaScript engine lacks WebAssembly SIMD' };
    throw new Error(state.reason);
  }
  state = { state: 'starting' };
  try {
    compiled ??= WebAssembly.compile(decodeBase64(wasmBase64) as Uint8Array<ArrayBuffer>);
    const instance = await WebAssembly.instantiate(await compiled, { env: { memory } });
    state = { state: 'ready' };
    return instance.exports as unknown as RuntimeKernels;
  } catch (error) {
    state = { state: 'failed', reason: `the runtime kernels failed to load: ${String(error)}` };
    throw error;
  }
}
