// Loads dynaprune's training kernels (assembly/training) into tfjs-wasm's own memory.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { startKernelWorkers, type KernelWorkers } from '#platform/threads';
import { wasmBase64 } from './generated/training-kernels-wasm.js';
import { kernelThreadCount } from './threaded-backend.js';

/**
 * A convolution's sizes as every conv kernel takes them, after its pointers: NHWC, explicit top and left
 * padding ({@link convGeometryArgs} builds it from tfjs's Conv2DInfo).
 */
export type ConvGeometryArgs = [
  n: number,
  h: number,
  w: number,
  ci: number,
  oh: number,
  ow: number,
  co: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
];

/** Adam's scalars as both Adam kernels take them, in float32: −lr, β1, 1−β1, β2, 1−β2, ε, 1−β1^t, 1−β2^t. */
export type AdamRates = [
  negLr: number,
  beta1: number,
  oneMinusBeta1: number,
  beta2: number,
  oneMinusBeta2: number,
  epsilon: number,
  c1: number,
  c2: number,
];

/** A pooling's sizes, NHWC, as both max-pool kernels take them after their pointers. */
type PoolGeometryArgs = [
  n: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  fh: number,
  fw: number,
];

/** The functions exported by assembly/training/index.ts; pointers are byte offsets in tfjs-wasm's heap. */
export interface TrainingWasmExports {
  /** The filter gradient for dw's row tiles [t0, t1) (KH·KW·ceil(CI/4) tiles in all): see the kernel. */
  conv2dFilterGradTiles(
    ...args: [
      x: number,
      dy: number,
      dw: number,
      ...geometry: ConvGeometryArgs,
      t0: number,
      t1: number,
    ]
  ): void;
  /** Max-pool input gradient, any window, stride and padding. */
  maxPoolGrad(
    ...args: [
      x: number,
      dy: number,
      dx: number,
      ...window: PoolGeometryArgs,
      sh: number,
      sw: number,
      pt: number,
      pl: number,
    ]
  ): void;
  /** The same for windows that tile the input (stride = window, no padding, C % 4 == 0). */
  maxPoolGradTiled(...args: [x: number, dy: number, dx: number, ...window: PoolGeometryArgs]): void;
  sumLeadingAxes(x: number, out: number, rows: number, cols: number): void;
  batchNormForward(
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    variance: number,
    invStd: number,
    rows: number,
    c: number,
    epsilon: number,
  ): void;
  batchNormBackward(
    dy: number,
    x: number,
    mean: number,
    invStd: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    c: number,
  ): void;
  transposeLastTwo(src: number, dst: number, batches: number, rows: number, cols: number): void;
  /** dx = dy · step(x) over n floats (ReLU's gradient). */
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  adamUpdate(
    ...args: [
      w: number,
      m: number,
      v: number,
      g: number,
      outW: number,
      outM: number,
      outV: number,
      n: number,
      ...rates: AdamRates,
    ]
  ): void;
  /** The blocked, transposed im2col of an NHWC batch, for the pixel blocks [b0, b1) (CO unused). */
  im2colBlocked(
    ...args: [x: number, cols: number, ...geometry: ConvGeometryArgs, b0: number, b1: number]
  ): void;
  gatherValues(
    kernel: number,
    ptr: number,
    idx: number,
    rows: number,
    co: number,
    rowsAreOutputs: number,
    values: number,
  ): void;
  /** The sparse forward product for the pixel blocks [b0, b1), with [CO][32] floats of scratch. */
  sparseConvForward(
    cols: number,
    k: number,
    p: number,
    rowPtr: number,
    colIdx: number,
    values: number,
    co: number,
    bias: number,
    hasBias: number,
    relu: number,
    y: number,
    b0: number,
    b1: number,
    scratch: number,
  ): void;
  /** The output gradient in blocked form for the pixel blocks [b0, b1). */
  gradToBlocked(
    dy: number,
    y: number,
    relu: number,
    p: number,
    co: number,
    dyt: number,
    b0: number,
    b1: number,
  ): void;
  blockedBiasGrad(dyt: number, p: number, co: number, db: number): void;
  /** The weight gradient at the active positions of the output rows [r0, r1) (dw zeroed before). */
  sparseConvWeightGrad(
    cols: number,
    dyt: number,
    k: number,
    p: number,
    co: number,
    rowPtr: number,
    colIdx: number,
    acc: number,
    dw: number,
    r0: number,
    r1: number,
  ): void;
  zeroFill(ptr: number, bytes: number): void;
  /** The input gradient of the images [n0, n1), with one block of scratch (K·32 floats) per thread. */
  sparseConvInputGrad(
    ...args: [
      dyt: number,
      cscPtr: number,
      cscRow: number,
      cscValues: number,
      dx: number,
      ...geometry: ConvGeometryArgs,
      n0: number,
      n1: number,
      scratch: number,
    ]
  ): void;
  adamUpdateAt(
    ...args: [
      w: number,
      m: number,
      v: number,
      g: number,
      cscPtr: number,
      cscRow: number,
      k: number,
      co: number,
      ...rates: AdamRates,
      decay: number,
    ]
  ): void;
  momentumUpdateAt(
    w: number,
    a: number,
    g: number,
    cscPtr: number,
    cscRow: number,
    k: number,
    co: number,
    negLr: number,
    momentum: number,
    decay: number,
  ): void;
  sumSquaresAt(w: number, cscPtr: number, cscRow: number, k: number, co: number): number;
  /** assembly/training/conv.ts: a [taps, CI, CO] filter, transposed per tap, in blocks of 8 input channels. */
  packTransposed(w: number, packed: number, taps: number, ci: number, co: number): void;
  /** Zeroes dx and writes the scratch `corners` (3 i32 per output pixel) for convInputGradBlocks. */
  convInputGradPrepare(...args: [dx: number, corners: number, ...geometry: ConvGeometryArgs]): void;
  /** The input gradient for input-channel blocks [cb0, cb1) of 8: see the kernel. */
  convInputGradBlocks(
    ...args: [
      dy: number,
      packed: number,
      dx: number,
      corners: number,
      ...geometry: ConvGeometryArgs,
      cb0: number,
      cb1: number,
    ]
  ): void;
}

/** Why the fast kernels are off, when they are. */
export type TrainingWasmStatus =
  { readonly state: 'ready' } | { readonly state: 'unavailable'; readonly reason: string };

const instances = new WeakMap<WebAssembly.Memory, TrainingWasmExports>();
/** Memories whose kernels were turned off on request: the fallbacks run, as when loading fails. */
const turnedOff = new WeakSet<WebAssembly.Memory>();
const workerPools = new WeakMap<WebAssembly.Memory, KernelWorkers>();
let compiled: Promise<WebAssembly.Module> | undefined;
let compiledShared: Promise<WebAssembly.Module> | undefined;

/** The exports that kernel workers may run (src/engine/kernels/ split their work over them). */
export const workerKernels = [
  'conv2dFilterGradTiles',
  'convInputGradBlocks',
  'im2colBlocked',
  'sparseConvForward',
  'gradToBlocked',
  'sparseConvWeightGrad',
  'sparseConvInputGrad',
] as const;
export type WorkerKernel = (typeof workerKernels)[number];

function decodeBase64(text: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return Buffer.from(text, 'base64');
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** tfjs-wasm's WebAssembly.Memory, when this build exposes it. */
function backendMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  const module = backend.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown };
  const memory = module.asm?.memory ?? module.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * The kernels compiled for this memory: tfjs-wasm's single-threaded builds have an unshared memory, its
 * threaded build a shared one, and a module's memory import must match (assembly/training is built twice).
 */
async function compileFor(memory: WebAssembly.Memory): Promise<WebAssembly.Module> {
  if (!isShared(memory)) {
    compiled ??= WebAssembly.compile(decodeBase64(wasmBase64) as Uint8Array<ArrayBuffer>);
    return compiled;
  }
  compiledShared ??= import('./generated/training-kernels-shared-wasm.js').then((m) =>
    WebAssembly.compile(decodeBase64(m.wasmBase64) as Uint8Array<ArrayBuffer>),
  );
  return compiledShared;
}

/** How to prepare the SIMD kernels. */
export interface TrainingWasmOptions {
  /**
   * false turns them off for this backend until a later call without it: every kernel then runs its
   * fallback (compositions of tfjs-wasm's own kernels), exactly as when the SIMD kernels fail to load.
   * For checking those fallbacks, and a way out should the SIMD kernels misbehave on some engine.
   */
  readonly simd?: boolean;
}

/**
 * Instantiates the kernels against this backend's memory (once per memory) and, when tfjs-wasm runs on
 * several threads, starts as many kernel workers less one (the calling thread works too). Resolves to
 * the status; when unavailable, the kernels fall back to compositions of tfjs-wasm's own kernels.
 */
export async function prepareTrainingWasm(
  backend: BackendWasm,
  options: TrainingWasmOptions = {},
): Promise<TrainingWasmStatus> {
  const memory = backendMemory(backend);
  if (memory === undefined) {
    return {
      state: 'unavailable',
      reason: 'this tfjs-wasm build does not expose an importable WebAssembly.Memory',
    };
  }
  if (options.simd === false) {
    turnedOff.add(memory);
    return { state: 'unavailable', reason: 'turned off on request (simd: false)' };
  }
  turnedOff.delete(memory);
  if (instances.has(memory)) return { state: 'ready' };
  try {
    const module = await compileFor(memory);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    // A plain copy: WebAssembly's exports object is frozen, and a profiler may wrap the functions
    // (bench/train-profile.ts --wasm-timers).
    instances.set(memory, { ...instance.exports } as unknown as TrainingWasmExports);
    const threads = kernelThreadCount(backend);
    if (isShared(memory) && threads > 1) {
      workerPools.set(memory, startKernelWorkers(module, memory, threads - 1, workerKernels));
    }
    return { state: 'ready' };
  } catch (error) {
    return {
      state: 'unavailable',
      reason: `WebAssembly SIMD kernels failed to load: ${String(error)}`,
    };
  }
}

/** The kernels for this backend, if {@link prepareTrainingWasm} succeeded for its memory (and left them on). */
export function trainingWasmFor(backend: BackendWasm): TrainingWasmExports | undefined {
  const memory = backendMemory(backend);
  return memory === undefined || turnedOff.has(memory) ? undefined : instances.get(memory);
}

/** The kernel workers for this backend (threads beyond the calling one), if it runs on several threads. */
export function kernelWorkersFor(backend: BackendWasm): KernelWorkers | undefined {
  const memory = backendMemory(backend);
  return memory === undefined ? undefined : workerPools.get(memory);
}
