// exportOnnx: a ModelGraph as a standard ONNX model (opset 13, NCHW), so onnxruntime and friends can run it.
//
// The exported graph is the one the runtime executes: BatchNorm folded into the conv or dense layer before
// it, ReLU fused (ONNX has no fused activation, so a fused ReLU is a Relu node right after its Conv or Gemm,
// which onnxruntime fuses back). Layout follows ONNX's convention, not the container's:
// - the input is [batch, channels, height, width] (or [batch, features]); callers transpose NHWC images;
// - conv weights are [out, in, kh, kw], which is the container's column order, so no reordering;
// - flatten works in NCHW order, so a dense layer after it gets its columns permuted (or, when something
//   other than dense layers reads the flatten, a Transpose to NHWC keeps the container's order).
// docs/ONNX.md lists every op and attribute emitted.
import { InvalidArgumentError } from '../errors.js';
import { denseValues } from '../graph/matrix.js';
import { foldBatchNorms, fuseRelus } from '../graph/rewrites.js';
import { samePadBefore, validateGraph } from '../graph/shapes.js';
import type { GraphNode, ModelGraph, Padding } from '../graph/types.js';
import {
  encodeOnnxModel,
  type OnnxAttribute,
  type OnnxInitializer,
  type OnnxModel,
  type OnnxNode,
} from './onnx-proto.js';

/** The ONNX operator set the exporter targets, and the IR version that goes with it (ONNX 1.8). */
export const ONNX_OPSET_VERSION = 13;
export const ONNX_IR_VERSION = 7;
/** The symbolic batch dimension of the input and output. */
export const ONNX_BATCH_DIM = 'batch';

export interface OnnxExportOptions {
  /** Store CSR weights as ONNX sparse initializers (SparseTensorProto) instead of dense tensors. */
  readonly sparseInitializers?: boolean;
  /** Fold BatchNorm into the layer before it where possible, as the runtime does (default true). */
  readonly foldBatchNorm?: boolean;
  /** ModelProto.producer_version (default '0.1.0'). */
  readonly producerVersion?: string;
}

/** The ONNX model bytes (ModelProto) computing what the runtime computes on `graph`. */
export function exportOnnx(graph: ModelGraph, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnxModel(toOnnxModel(graph, options));
}

type Shapes = ReadonlyMap<string, readonly number[]>;

/** What each op's emitter may use and add to. */
interface EmitContext {
  readonly shapes: Shapes;
  readonly options: OnnxExportOptions;
  /**
   * Flatten nodes emitted in NCHW (channel-major) order because only dense layers read them, with the
   * [h, w, c] shape they flatten.
   */
  readonly channelMajorFlattens: Map<string, readonly number[]>;
  readonly consumers: ReadonlyMap<string, readonly GraphNode[]>;
  readonly output: string;
  readonly nodes: OnnxNode[];
  readonly initializers: OnnxInitializer[];
}

/** The ONNX model of `graph` as plain data (encodeOnnxModel turns it into bytes). */
export function toOnnxModel(graph: ModelGraph, options: OnnxExportOptions = {}): OnnxModel {
  validateGraph(graph, (message) => new InvalidArgumentError(`Cannot export to ONNX: ${message}.`));
  const prepared = fuseRelus(options.foldBatchNorm === false ? graph : foldBatchNorms(graph));
  const shapes = validateGraph(prepared, (message) => new InvalidArgumentError(message));
  const consumers = new Map<string, GraphNode[]>();
  for (const node of prepared.nodes) {
    for (const input of inputsOf(node))
      consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  const ctx: EmitContext = {
    shapes,
    options,
    channelMajorFlattens: new Map(),
    consumers,
    output: prepared.output,
    nodes: [],
    initializers: [],
  };
  for (const node of prepared.nodes) emitNode(node, ctx);
  const input = prepared.nodes[0]!;
  const modelName = prepared.metadata.modelName;
  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET_VERSION,
    producerName: 'dynaprune',
    producerVersion: options.producerVersion ?? '0.1.0',
    docString:
      'Exported by dynaprune: BatchNorm folded, NCHW input in [0, 1] (channels first); the output is the ' +
      `graph's "${prepared.output}" node.`,
    graphName: typeof modelName === 'string' ? modelName : 'dynaprune',
    nodes: ctx.nodes,
    initializers: ctx.initializers,
    inputs: [{ name: input.name, dims: onnxDims(shapes.get(input.name)!) }],
    outputs: [{ name: prepared.output, dims: onnxDims(shapes.get(prepared.output)!) }],
    metadata: Object.entries(prepared.metadata).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  };
}

const inputsOf = (node: GraphNode): readonly string[] =>
  node.op === 'input' ? [] : node.op === 'add' ? node.inputs : [node.input];

/** An NHWC per-example shape as ONNX dims: [batch, c, h, w] or [batch, features]. */
const onnxDims = (shape: readonly number[]): (number | string)[] =>
  shape.length === 3
    ? [ONNX_BATCH_DIM, shape[2]!, shape[0]!, shape[1]!]
    : [ONNX_BATCH_DIM, ...shape];

function addNode(
  ctx: EmitContext,
  opType: string,
  inputs: readonly string[],
  output: string,
  attributes: OnnxAttribute[] = [],
): void {
  ctx.nodes.push({ name: output, opType, inputs, outputs: [output], attributes });
}

/** Adds a FLOAT initializer; `sparse` asks for a sparse one, honoured if the options allow. */
function addInitializer(
  ctx: EmitContext,
  name: string,
  dims: readonly number[],
  values: Float32Array,
  sparse = false,
): string {
  ctx.initializers.push({
    name,
    dims,
    values,
    sparse: sparse && ctx.options.sparseInitializers === true,
  });
  return name;
}

/** ONNX pads [top, left, bottom, right] of a window op, tfjs 'same' rules (the extra row after). */
function pads(
  inShape: readonly number[],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  padding: Padding,
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const total = (n: number, k: number, s: number) =>
    Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  const [h, w] = inShape as [number, number];
  const top = samePadBefore(h, kernel[0], strides[0]);
  const left = samePadBefore(w, kernel[1], strides[1]);
  return [top, left, total(h, kernel[0], strides[0]) - top, total(w, kernel[1], strides[1]) - left];
}

/**
 * A dense weight [out, h·w·c] whose columns follow the graph's NHWC flatten, reordered for ONNX's NCHW
 * flatten: column (y·w + x)·c + ch moves to (ch·h + y)·w + x.
 */
function channelMajorColumns(
  values: Float32Array,
  rows: number,
  shape: readonly number[],
): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  const cols = h * w * c;
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++)
          out[r * cols + (ch * h + y) * w + x] = values[r * cols + (y * w + x) * c + ch]!;
      }
    }
  }
  return out;
}

/** A fused activation as its own node after the linear op's pre-activation output. */
function emitActivation(
  ctx: EmitContext,
  preActivation: string,
  name: string,
  activation: string,
): void {
  if (activation === 'relu') addNode(ctx, 'Relu', [preActivation], name);
  else addNode(ctx, 'Softmax', [preActivation], name, [{ name: 'axis', int: 1 }]);
}

type NodeOf<K extends GraphNode['op']> = GraphNode & { readonly op: K };

/** One emitter per op: each writes the ONNX nodes whose last output carries the graph node's name. */
const emitters: { readonly [K in GraphNode['op']]: (node: NodeOf<K>, ctx: EmitContext) => void } = {
  input: () => undefined,
  conv2d: (node, ctx) => {
    const weight = addInitializer(
      ctx,
      `${node.name}.weight`,
      [node.outChannels, node.inChannels, node.kernelSize[0], node.kernelSize[1]],
      denseValues(node.weight),
      node.weight.kind === 'csr',
    );
    const inputs = [node.input, weight];
    if (node.bias)
      inputs.push(addInitializer(ctx, `${node.name}.bias`, [node.outChannels], node.bias));
    const linear = node.activation === 'linear' ? node.name : `${node.name}.preactivation`;
    addNode(ctx, 'Conv', inputs, linear, [
      { name: 'kernel_shape', ints: node.kernelSize },
      { name: 'strides', ints: node.strides },
      {
        name: 'pads',
        ints: pads(ctx.shapes.get(node.input)!, node.kernelSize, node.strides, node.padding),
      },
    ]);
    if (node.activation !== 'linear') emitActivation(ctx, linear, node.name, node.activation);
  },
  dense: (node, ctx) => {
    const flattened = ctx.channelMajorFlattens.get(node.input);
    const values = flattened
      ? channelMajorColumns(denseValues(node.weight), node.outFeatures, flattened)
      : denseValues(node.weight);
    const weight = addInitializer(
      ctx,
      `${node.name}.weight`,
      [node.outFeatures, node.inFeatures],
      values,
      node.weight.kind === 'csr',
    );
    const inputs = [node.input, weight];
    if (node.bias)
      inputs.push(addInitializer(ctx, `${node.name}.bias`, [node.outFeatures], node.bias));
    const linear = node.activation === 'linear' ? node.name : `${node.name}.preactivation`;
    addNode(ctx, 'Gemm', inputs, linear, [{ name: 'transB', int: 1 }]);
    if (node.activation !== 'linear') emitActivation(ctx, linear, node.name, node.activation);
  },
  batchNorm: (node, ctx) => {
    const inputs = [node.input];
    for (const [part, values] of [
      ['scale', node.gamma],
      ['bias', node.beta],
      ['mean', node.movingMean],
      ['variance', node.movingVariance],
    ] as const)
      inputs.push(addInitializer(ctx, `${node.name}.${part}`, [values.length], values));
    addNode(ctx, 'BatchNormalization', inputs, node.name, [
      { name: 'epsilon', float: node.epsilon },
    ]);
  },
  maxPool: (node, ctx) => emitPool(node, ctx, 'MaxPool'),
  avgPool: (node, ctx) => emitPool(node, ctx, 'AveragePool'),
  globalAvgPool: (node, ctx) => {
    addNode(ctx, 'GlobalAveragePool', [node.input], `${node.name}.nchw`);
    addNode(ctx, 'Flatten', [`${node.name}.nchw`], node.name, [{ name: 'axis', int: 1 }]);
  },
  relu: (node, ctx) => addNode(ctx, 'Relu', [node.input], node.name),
  // The graph's softmax is over the last NHWC axis: channels, axis 1 in NCHW (or features in 2D).
  softmax: (node, ctx) =>
    addNode(ctx, 'Softmax', [node.input], node.name, [{ name: 'axis', int: 1 }]),
  flatten: (node, ctx) => {
    const readers = ctx.consumers.get(node.name) ?? [];
    const onlyDense = node.name !== ctx.output && readers.every((r) => r.op === 'dense');
    let source = node.input;
    if (ctx.shapes.get(node.input)!.length === 3) {
      if (onlyDense) ctx.channelMajorFlattens.set(node.name, ctx.shapes.get(node.input)!);
      else {
        source = `${node.name}.nhwc`;
        addNode(ctx, 'Transpose', [node.input], source, [{ name: 'perm', ints: [0, 2, 3, 1] }]);
      }
    }
    addNode(ctx, 'Flatten', [source], node.name, [{ name: 'axis', int: 1 }]);
  },
  add: (node, ctx) => addNode(ctx, 'Add', node.inputs, node.name),
};

function emitNode(node: GraphNode, ctx: EmitContext): void {
  (emitters[node.op] as (n: GraphNode, c: EmitContext) => void)(node, ctx);
}

function emitPool(node: NodeOf<'maxPool' | 'avgPool'>, ctx: EmitContext, opType: string): void {
  const attributes: OnnxAttribute[] = [
    { name: 'kernel_shape', ints: node.poolSize },
    { name: 'strides', ints: node.strides },
    {
      name: 'pads',
      ints: pads(ctx.shapes.get(node.input)!, node.poolSize, node.strides, node.padding),
    },
  ];
  // The graph averages over in-bounds positions only, as tfjs does.
  if (opType === 'AveragePool') attributes.push({ name: 'count_include_pad', int: 0 });
  addNode(ctx, opType, [node.input], node.name, attributes);
}
