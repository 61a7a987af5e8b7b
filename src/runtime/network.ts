// A loaded model ready to predict: a plan of WebAssembly kernel calls over planned buffers, or the reference ops.
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { foldBatchNorms, fuseRelus } from '../format/fold.js';
import type { GraphNode, ModelGraph, WeightMatrix } from '../format/graph.js';
import { samePadBefore, validateGraph } from '../format/validate.js';
import { instantiateKernels, simdSupported, type RuntimeKernels } from './kernels.js';
import { runReference } from './reference.js';

/** What runs the model. */
export type RuntimeEngine = 'wasm-simd' | 'reference';

export interface NetworkOptions {
  /** `auto` (default): WebAssembly SIMD when the engine has it, else the reference ops with a warning. */
  readonly engine?: 'auto' | RuntimeEngine;
  /** Receives one sentence when the runtime falls back to the slower reference ops. */
  readonly onWarning?: (message: string) => void;
  /** Fold BatchNorm into the conv or dense layer before it where possible (default true). */
  readonly foldBatchNorm?: boolean;
  /**
   * Weights with at least this density run on the dense kernel instead of the sparse one (default 0.35,
   * where the two measured about even).
   */
  readonly denseThreshold?: number;
}

const PAGE = 65536;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** A bump allocator over a growable WebAssembly.Memory; offsets are 64-byte aligned. */
class Arena {
  top = 64; // keep 0 unused, so no buffer sits at the null address
  constructor(readonly memory: WebAssembly.Memory) {}
  alloc(bytes: number): number {
    const at = roundUp(this.top, 64);
    this.top = at + roundUp(Math.max(bytes, 4), 64);
    const needed = this.top - this.memory.buffer.byteLength;
    if (needed > 0) this.memory.grow(Math.ceil(needed / PAGE));
    return at;
  }
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
  u32(): Uint32Array {
    return new Uint32Array(this.memory.buffer);
  }
}

/** A weight matrix uploaded to wasm memory, in the storage its density calls for. */
interface UploadedWeight {
  readonly kind: 'csr' | 'dense';
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: number;
  readonly colIdx: number;
  readonly values: number;
  readonly bias: number;
}

function upload(
  arena: Arena,
  w: WeightMatrix,
  bias: Float32Array | null,
  denseThreshold: number,
): UploadedWeight {
  const nnz =
    w.kind === 'csr' ? w.values.length : w.values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  const dense = nnz >= denseThreshold * w.rows * w.cols;
  const biasAt = arena.alloc(w.rows * 4);
  arena.f32().set(bias ?? new Float32Array(w.rows), biasAt / 4);
  if (dense) {
    const values = arena.alloc(w.rows * w.cols * 4);
    const f = arena.f32();
    if (w.kind === 'dense') f.set(w.values, values / 4);
    else {
      f.fill(0, values / 4, values / 4 + w.rows * w.cols);
      for (let r = 0; r < w.rows; r++) {
        for (let k = w.rowPtr[r]!; k < w.rowPtr[r + 1]!; k++)
          f[values / 4 + r * w.cols + w.colIdx[k]!] = w.values[k]!;
      }
    }
    return {
      kind: 'dense',
      rows: w.rows,
      cols: w.cols,
      rowPtr: 0,
      colIdx: 0,
      values,
      bias: biasAt,
    };
  }
  let rowPtr: Uint32Array;
  let colIdx: Uint32Array;
  let vals: Float32Array;
  if (w.kind === 'csr') {
    ({ rowPtr, colIdx } = w);
    vals = w.values;
  } else {
    rowPtr = new Uint32Array(w.rows + 1);
    colIdx = new Uint32Array(nnz);
    vals = new Float32Array(nnz);
    let k = 0;
    for (let r = 0; r < w.rows; r++) {
      for (let c = 0; c < w.cols; c++) {
        const v = w.values[r * w.cols + c]!;
        if (v !== 0) {
          colIdx[k] = c;
          vals[k++] = v;
        }
      }
      rowPtr[r + 1] = k;
    }
  }
  const rp = arena.alloc(rowPtr.length * 4);
  const ci = arena.alloc(colIdx.length * 4);
  const vs = arena.alloc(vals.length * 4);
  arena.u32().set(rowPtr, rp / 4);
  arena.u32().set(colIdx, ci / 4);
  arena.f32().set(vals, vs / 4);
  return {
    kind: 'csr',
    rows: w.rows,
    cols: w.cols,
    rowPtr: rp,
    colIdx: ci,
    values: vs,
    bias: biasAt,
  };
}

/** One planned operation on one image (conv, pooling, ...), for the node it computes. */
interface ImageStep {
  readonly node: string;
  run(image: number, batch: number): void;
}

/** One planned operation on the whole batch, feature-major (dense layers and what follows them). */
interface FeatureStep {
  readonly node: string;
  run(batch: number, stride: number): void;
}

/** Runs a batch; with `profile`, also adds each node's milliseconds to it. */
type Runner = (input: Float32Array, batch: number, profile?: Map<string, number>) => Float32Array;

/** Where a prediction's time went: per node of the planned graph (after folding and fusion). */
export interface Profile {
  readonly totalMs: number;
  readonly nodes: readonly { readonly name: string; readonly op: string; readonly ms: number }[];
}

/**
 * A model loaded for inference. `predict` takes a batch in the graph's layout (NHWC images or
 * [batch, features]) as one Float32Array and returns the output node's values, batch first.
 */
export class Network {
  readonly graph: ModelGraph;
  readonly engine: RuntimeEngine;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private readonly runner: Runner;

  constructor(
    graph: ModelGraph,
    engine: RuntimeEngine,
    shapes: Map<string, readonly number[]>,
    runner: Runner,
  ) {
    this.graph = graph;
    this.engine = engine;
    this.inputShape = shapes.get(graph.nodes[0]!.name)!;
    this.outputShape = shapes.get(graph.output)!;
    this.runner = runner;
  }

  /** Runs `batch` examples; `input.length` must be batch × the input size. */
  predict(input: Float32Array, batch = 1): Float32Array {
    this.check(input, batch);
    return this.runner(input, batch);
  }

  /**
   * Runs `batch` examples like `predict` and reports the milliseconds spent in each node of the planned
   * graph (BatchNorm folded, ReLU fused: `graph` shows it). The reference engine reports the total only.
   */
  profile(input: Float32Array, batch = 1): Profile {
    this.check(input, batch);
    const times = new Map<string, number>();
    const started = performance.now();
    this.runner(input, batch, times);
    const totalMs = performance.now() - started;
    const nodes = this.graph.nodes
      .filter((n) => times.has(n.name))
      .map((n) => ({ name: n.name, op: n.op, ms: times.get(n.name)! }));
    return { totalMs, nodes };
  }

  private check(input: Float32Array, batch: number): void {
    if (!Number.isInteger(batch) || batch < 1)
      throw new InvalidArgumentError(`batch must be a positive integer, got ${batch}.`);
    const per = this.inputShape.reduce((a, b) => a * b, 1);
    if (!(input instanceof Float32Array) || input.length !== batch * per) {
      throw new ShapeMismatchError(
        `predict expects ${batch} × [${this.inputShape.join(', ')}] = ${batch * per} floats, got ${input?.length ?? 'no array'}.`,
      );
    }
  }
}

function referenceRunner(graph: ModelGraph, shapes: Map<string, readonly number[]>) {
  const inputShape = shapes.get(graph.nodes[0]!.name)!;
  return (input: Float32Array, batch: number) =>
    runReference(graph, { data: input, batch, shape: inputShape }).data;
}

/** Plans the graph on the WebAssembly kernels. */
async function wasmRunner(
  graph: ModelGraph,
  shapes: Map<string, readonly number[]>,
  denseThreshold: number,
): Promise<Runner> {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const k: RuntimeKernels = await instantiateKernels(memory);
  const arena = new Arena(memory);
  const steps: ImageStep[] = [];
  /** Image tensors: one [C, H, W] buffer per node. Feature tensors: [F][capacity] buffers, batch on lanes. */
  const imageBuffers = new Map<string, number>();
  const featureNodes: { name: string; rows: number }[] = [];
  const featureBuffers = new Map<string, number>();
  let capacity = 0;
  const isImage = (name: string) => shapes.get(name)!.length === 3;
  const chw = (name: string) => {
    const [h, w, c] = shapes.get(name)! as [number, number, number];
    return { c, h, w, plane: h * w, size: c * h * w };
  };
  let scratchFloats = 16;
  const scratch = { at: 0 };
  let stride = 16;
  const capacityStride = (): number => stride;
  const inputNode = graph.nodes[0]!;

  const needFeature = (name: string) => featureNodes.push({ name, rows: shapes.get(name)![0]! });

  for (const node of graph.nodes as readonly GraphNode[]) {
    if (node.op === 'input') {
      if (isImage(node.name)) {
        // Filled by the runner from the NHWC input, one image at a time.
        imageBuffers.set(node.name, arena.alloc(chw(node.name).size * 4));
      } else {
        needFeature(node.name);
      }
      continue;
    }
    const inputName = node.op === 'add' ? node.inputs[0] : node.input;
    if (isImage(node.name)) {
      const out = chw(node.name);
      const at = arena.alloc(out.size * 4);
      imageBuffers.set(node.name, at);
      const src = imageBuffers.get(inputName)!;
      const inp = chw(inputName);
      switch (node.op) {
        case 'conv2d': {
          const weight = upload(arena, node.weight, node.bias, denseThreshold);
          const [kh, kw] = node.kernelSize;
          const [sh, sw] = node.strides;
          const pt = node.padding === 'same' ? samePadBefore(inp.h, kh, sh) : 0;
          const pl = node.padding === 'same' ? samePadBefore(inp.w, kw, sw) : 0;
          const stride = roundUp(out.plane, 16);
          scratchFloats = Math.max(scratchFloats, weight.cols * stride);
          const relu = node.activation === 'relu' ? 1 : 0;
          const softmax = node.activation === 'softmax';
          steps.push({
            node: node.name,
            run: () => {
              k.im2col(
                src,
                scratch.at,
                inp.c,
                inp.h,
                inp.w,
                out.h,
                out.w,
                kh,
                kw,
                sh,
                sw,
                pt,
                pl,
                stride,
              );
              if (weight.kind === 'csr') {
                k.spmm(
                  weight.rowPtr,
                  weight.colIdx,
                  weight.values,
                  weight.rows,
                  scratch.at,
                  stride,
                  out.plane,
                  weight.bias,
                  1,
                  relu,
                  at,
                  out.plane,
                );
              } else {
                k.gemm(
                  weight.values,
                  weight.rows,
                  weight.cols,
                  scratch.at,
                  stride,
                  out.plane,
                  weight.bias,
                  1,
                  relu,
                  at,
                  out.plane,
                );
              }
              if (softmax) softmaxChannels(arena.f32(), at / 4, out.c, out.plane);
            },
          });
          break;
        }
        case 'maxPool':
        case 'avgPool': {
          const [ph, pw] = node.poolSize;
          const [sh, sw] = node.strides;
          const pt = node.padding === 'same' ? samePadBefore(inp.h, ph, sh) : 0;
          const pl = node.padding === 'same' ? samePadBefore(inp.w, pw, sw) : 0;
          const isMax = node.op === 'maxPool' ? 1 : 0;
          steps.push({
            node: node.name,
            run: () =>
              k.pool(src, at, out.c, inp.h, inp.w, out.h, out.w, ph, pw, sh, sw, pt, pl, isMax),
          });
          break;
        }
        case 'batchNorm': {
          const { scale, shift } = affineOf(node);
          const sAt = arena.alloc(scale.length * 4);
          const tAt = arena.alloc(shift.length * 4);
          arena.f32().set(scale, sAt / 4);
          arena.f32().set(shift, tAt / 4);
          steps.push({
            node: node.name,
            run: () => k.channelAffine(src, at, out.c, out.plane, sAt, tAt, 0),
          });
          break;
        }
        case 'relu':
          steps.push({
            node: node.name,
            run: () => {
              arena.f32().copyWithin(at / 4, src / 4, src / 4 + out.size);
              k.reluInPlace(at, out.size);
            },
          });
          break;
        case 'softmax':
          steps.push({
            node: node.name,
            run: () => {
              const f = arena.f32();
              f.copyWithin(at / 4, src / 4, src / 4 + out.size);
              softmaxChannels(f, at / 4, out.c, out.plane);
            },
          });
          break;
        case 'add': {
          const other = imageBuffers.get(node.inputs[1])!;
          steps.push({ node: node.name, run: () => k.addArrays(src, other, at, out.size, 0) });
          break;
        }
        default:
          throw new InvalidArgumentError(
            `The runtime cannot run a ${node.op} node on images ("${node.name}").`,
          );
      }
      continue;
    }
    // Feature-valued nodes: planned now, buffers sized when the batch capacity is known.
    needFeature(node.name);
  }

  // Feature stage: closures read buffer offsets at run time, since they move when capacity grows.
  const featureSteps: FeatureStep[] = [];
  const addFeatureStep = (node: string, run: FeatureStep['run']) =>
    featureSteps.push({ node, run });
  const uploads = new Map<string, UploadedWeight>();
  const affines = new Map<string, { scale: number; shift: number }>();
  for (const node of graph.nodes as readonly GraphNode[]) {
    if (node.op === 'input' || isImage(node.name)) continue;
    const name = node.name;
    const rows = shapes.get(name)![0]!;
    switch (node.op) {
      case 'flatten':
      case 'globalAvgPool': {
        const source = imageBuffers.get(node.input)!;
        const inp = chw(node.input);
        const gap = node.op === 'globalAvgPool';
        // Per image: CHW planes → feature rows (NHWC order for flatten, channel means for GAP), lane b.
        steps.push({
          node: node.name,
          run: (image) => {
            const f = arena.f32();
            const dst = featureBuffers.get(name)! / 4;
            const s = source / 4;
            if (gap) {
              for (let c = 0; c < inp.c; c++) {
                let acc = 0;
                for (let p = 0; p < inp.plane; p++) acc += f[s + c * inp.plane + p]!;
                f[dst + c * capacityStride() + image] = acc / inp.plane;
              }
            } else {
              const stride = capacityStride();
              for (let c = 0; c < inp.c; c++) {
                for (let p = 0; p < inp.plane; p++)
                  f[dst + (p * inp.c + c) * stride + image] = f[s + c * inp.plane + p]!;
              }
            }
          },
        });
        break;
      }
      case 'dense': {
        uploads.set(name, upload(arena, node.weight, node.bias, denseThreshold));
        const relu = node.activation === 'relu' ? 1 : 0;
        const softmax = node.activation === 'softmax';
        addFeatureStep(name, (batch, stride) => {
          const w = uploads.get(name)!;
          const x = featureBuffers.get(node.input)!;
          const out = featureBuffers.get(name)!;
          if (w.kind === 'csr')
            k.spmm(
              w.rowPtr,
              w.colIdx,
              w.values,
              w.rows,
              x,
              stride,
              batch,
              w.bias,
              1,
              relu,
              out,
              stride,
            );
          else k.gemm(w.values, w.rows, w.cols, x, stride, batch, w.bias, 1, relu, out, stride);
          if (softmax) softmaxLanes(arena.f32(), out / 4, rows, stride, batch);
        });
        break;
      }
      case 'relu':
        addFeatureStep(name, (batch, stride) => {
          const f = arena.f32();
          const src = featureBuffers.get(node.input)! / 4;
          const dst = featureBuffers.get(name)!;
          f.copyWithin(dst / 4, src, src + rows * stride);
          k.reluInPlace(dst, rows * stride);
        });
        break;
      case 'softmax':
        addFeatureStep(name, (batch, stride) => {
          const f = arena.f32();
          const src = featureBuffers.get(node.input)! / 4;
          const dst = featureBuffers.get(name)! / 4;
          f.copyWithin(dst, src, src + rows * stride);
          softmaxLanes(f, dst, rows, stride, batch);
        });
        break;
      case 'batchNorm': {
        const { scale, shift } = affineOf(node);
        const sAt = arena.alloc(scale.length * 4);
        const tAt = arena.alloc(shift.length * 4);
        arena.f32().set(scale, sAt / 4);
        arena.f32().set(shift, tAt / 4);
        affines.set(name, { scale: sAt, shift: tAt });
        addFeatureStep(name, (_batch, stride) =>
          k.channelAffine(
            featureBuffers.get(node.input)!,
            featureBuffers.get(name)!,
            rows,
            stride,
            sAt,
            tAt,
            0,
          ),
        );
        break;
      }
      case 'add':
        addFeatureStep(name, (_batch, stride) =>
          k.addArrays(
            featureBuffers.get(node.inputs[0])!,
            featureBuffers.get(node.inputs[1])!,
            featureBuffers.get(name)!,
            rows * stride,
            0,
          ),
        );
        break;
      default:
        throw new InvalidArgumentError(
          `The runtime cannot run a ${node.op} node on features ("${name}").`,
        );
    }
  }

  scratch.at = arena.alloc(scratchFloats * 4);
  const fixedTop = arena.top;
  /** (Re)allocates the feature buffers for `batch` lanes above the fixed part of the arena. */
  const ensureCapacity = (batch: number) => {
    if (batch <= capacity) return;
    capacity = roundUp(batch, 16);
    stride = capacity;
    arena.top = fixedTop;
    for (const { name, rows } of featureNodes)
      featureBuffers.set(name, arena.alloc(rows * stride * 4));
  };
  ensureCapacity(1);

  const inputAt = imageBuffers.get(inputNode.name);
  const outputName = graph.output;
  const outputShape = shapes.get(outputName)!;
  const outputSize = outputShape.reduce((a, b) => a * b, 1);

  const timed = (profile: Map<string, number>, node: string, run: () => void): void => {
    const t0 = performance.now();
    run();
    profile.set(node, (profile.get(node) ?? 0) + performance.now() - t0);
  };
  return (input: Float32Array, batch: number, profile?: Map<string, number>) => {
    ensureCapacity(batch);
    const result = new Float32Array(batch * outputSize);
    if (inputAt !== undefined) {
      const { c, plane, size } = chw(inputNode.name);
      for (let b = 0; b < batch; b++) {
        const f = arena.f32();
        const base = inputAt / 4;
        const src = b * size;
        for (let p = 0; p < plane; p++)
          for (let ch = 0; ch < c; ch++) f[base + ch * plane + p] = input[src + p * c + ch]!;
        for (const step of steps) {
          if (profile) timed(profile, step.node, () => step.run(b, batch));
          else step.run(b, batch);
        }
        if (isImage(outputName)) {
          const out = chw(outputName);
          const at = imageBuffers.get(outputName)! / 4;
          const g = arena.f32();
          for (let p = 0; p < out.plane; p++) {
            for (let ch = 0; ch < out.c; ch++)
              result[b * out.size + p * out.c + ch] = g[at + ch * out.plane + p]!;
          }
        }
      }
    } else {
      const f = arena.f32();
      const at = featureBuffers.get(inputNode.name)! / 4;
      const rows = shapes.get(inputNode.name)![0]!;
      for (let b = 0; b < batch; b++)
        for (let r = 0; r < rows; r++) f[at + r * stride + b] = input[b * rows + r]!;
    }
    for (const step of featureSteps) {
      if (profile) timed(profile, step.node, () => step.run(batch, stride));
      else step.run(batch, stride);
    }
    if (!isImage(outputName)) {
      const f = arena.f32();
      const at = featureBuffers.get(outputName)! / 4;
      for (let b = 0; b < batch; b++)
        for (let r = 0; r < outputSize; r++) result[b * outputSize + r] = f[at + r * stride + b]!;
    }
    return result;
  };
}

/** Inference BatchNorm as a per-channel affine map: scale = gamma / sqrt(var + eps), shift = beta − mean·scale. */
function affineOf(node: {
  gamma: Float32Array;
  beta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
  epsilon: number;
}) {
  const scale = new Float32Array(node.gamma.length);
  const shift = new Float32Array(node.gamma.length);
  for (let c = 0; c < scale.length; c++) {
    scale[c] = node.gamma[c]! / Math.sqrt(node.movingVariance[c]! + node.epsilon);
    shift[c] = node.beta[c]! - node.movingMean[c]! * scale[c]!;
  }
  return { scale, shift };
}

/** Softmax over channels at each pixel of CHW planes starting at float index `at`. */
function softmaxChannels(f: Float32Array, at: number, channels: number, plane: number): void {
  for (let p = 0; p < plane; p++) {
    let max = -Infinity;
    for (let c = 0; c < channels; c++) max = Math.max(max, f[at + c * plane + p]!);
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const e = Math.exp(f[at + c * plane + p]! - max);
      f[at + c * plane + p] = e;
      sum += e;
    }
    for (let c = 0; c < channels; c++) f[at + c * plane + p]! /= sum;
  }
}

/** Softmax over the rows of feature-major data, for each of `batch` lanes. */
function softmaxLanes(
  f: Float32Array,
  at: number,
  rows: number,
  stride: number,
  batch: number,
): void {
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let r = 0; r < rows; r++) max = Math.max(max, f[at + r * stride + b]!);
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const e = Math.exp(f[at + r * stride + b]! - max);
      f[at + r * stride + b] = e;
      sum += e;
    }
    for (let r = 0; r < rows; r++) f[at + r * stride + b]! /= sum;
  }
}

/**
 * Prepares `graph` for inference: validates it (typed errors on an inconsistent graph), folds BatchNorm,
 * and plans it on the WebAssembly SIMD kernels, or on the reference ops where SIMD is missing (with a
 * warning through `onWarning`).
 */
export async function createNetwork(
  graph: ModelGraph,
  options: NetworkOptions = {},
): Promise<Network> {
  validateGraph(graph, (message, problem) =>
    problem === 'shape' ? new ShapeMismatchError(message) : new InvalidArgumentError(message),
  );
  const prepared = fuseRelus(options.foldBatchNorm === false ? graph : foldBatchNorms(graph));
  const shapes = validateGraph(prepared, (message) => new InvalidArgumentError(message));
  const wanted = options.engine ?? 'auto';
  if (wanted === 'reference')
    return new Network(prepared, 'reference', shapes, referenceRunner(prepared, shapes));
  if (!simdSupported()) {
    if (wanted === 'wasm-simd')
      throw new InvalidArgumentError(
        'WebAssembly SIMD is not available in this JavaScript engine.',
      );
    options.onWarning?.(
      'WebAssembly SIMD is not available here; running the (much slower) reference ops.',
    );
    return new Network(prepared, 'reference', shapes, referenceRunner(prepared, shapes));
  }
  try {
    const runner = await wasmRunner(prepared, shapes, options.denseThreshold ?? 0.35);
    return new Network(prepared, 'wasm-simd', shapes, runner);
  } catch (error) {
    if (wanted === 'wasm-simd' || error instanceof InvalidArgumentError) throw error;
    options.onWarning?.(
      `The WebAssembly kernels failed (${String(error)}); running the reference ops.`,
    );
    return new Network(prepared, 'reference', shapes, referenceRunner(prepared, shapes));
  }
}
