// Converts a tfjs layers model (dense or with dynamic layers) into the ModelGraph that the container stores.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { toCsr } from '../graph/matrix.js';
import { foldBatchNorms } from '../graph/rewrites.js';
import type {
  Activation,
  DenseMatrix,
  GraphNode,
  ModelGraph,
  Padding,
  WeightMatrix,
} from '../graph/types.js';

/** The parts of a tfjs Layer this converter reads; tfjs's own types keep most of them protected. */
interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): Tensor[];
  readonly weights: readonly { readonly name: string; readonly originalName: string }[];
  readonly inboundNodes: readonly { readonly inboundLayers: readonly LayerLike[] }[];
}

export interface ToGraphOptions {
  /**
   * Fold an inference-mode BatchNormalization into the conv or dense layer right before it, when that
   * layer has a linear activation and feeds nothing else (DESIGN.md: "BatchNorm folded at export").
   * Default true.
   */
  readonly foldBatchNorm?: boolean;
  /** Merged into the graph's metadata. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

const pair = (v: unknown, name: string): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) {
    return [v[0] as number, v[1] as number];
  }
  throw new InvalidArgumentError(`Cannot read ${name} = ${JSON.stringify(v)}.`);
};

function activationOf(layer: LayerLike): Activation {
  const a = layer.getConfig()['activation'] ?? 'linear';
  if (a === 'linear' || a === 'relu' || a === 'softmax') return a;
  throw new InvalidArgumentError(
    `Layer ${layer.name} uses activation "${String(a)}"; the container supports linear, relu and softmax.`,
  );
}

function paddingOf(layer: LayerLike): Padding {
  const p = layer.getConfig()['padding'] ?? 'valid';
  if (p === 'same' || p === 'valid') return p;
  throw new InvalidArgumentError(
    `Layer ${layer.name} uses padding "${String(p)}"; use same or valid.`,
  );
}

function requireChannelsLast(layer: LayerLike): void {
  const format = layer.getConfig()['dataFormat'];
  if (format !== undefined && format !== 'channelsLast') {
    throw new InvalidArgumentError(
      `Layer ${layer.name} is ${String(format)}; only channelsLast is supported.`,
    );
  }
}

/** Reads a layer's weights by their short name (`kernel`, `bias`, `mask`, `gamma`...). */
function namedWeights(layer: LayerLike): Map<string, Float32Array> {
  const values = layer.getWeights();
  const out = new Map<string, Float32Array>();
  layer.weights.forEach((w, i) => {
    const short = w.originalName.split('/').pop()!;
    out.set(short, values[i]!.dataSync() as Float32Array);
  });
  return out;
}

/**
 * Builds the logical [rows, cols] matrix. `at(r, c)` gives the element of row r, column c. Masked layers
 * become CSR (their zeros are the point); dense layers stay dense.
 */
function toMatrix(
  rows: number,
  cols: number,
  at: (r: number, c: number) => number,
  sparse: boolean,
): WeightMatrix {
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = at(r, c);
  const dense: DenseMatrix = { kind: 'dense', rows, cols, values };
  return sparse ? toCsr(dense) : dense;
}

/** Topological order of the layers feeding the model's output, inputs first. */
function layersInOrder(model: LayersModel): LayerLike[] {
  if (model.outputs.length !== 1 || model.inputs.length !== 1) {
    throw new InvalidArgumentError('Only models with one input and one output can be exported.');
  }
  const out = model.outputs[0]!.sourceLayer as unknown as LayerLike;
  const order: LayerLike[] = [];
  const seen = new Set<LayerLike>();
  const visit = (layer: LayerLike): void => {
    if (seen.has(layer)) return;
    seen.add(layer);
    if (layer.inboundNodes.length > 1) {
      throw new InvalidArgumentError(
        `Layer ${layer.name} is shared between several calls; not supported.`,
      );
    }
    for (const parent of layer.inboundNodes[0]?.inboundLayers ?? []) visit(parent);
    order.push(layer);
  };
  visit(out);
  return order;
}

const isDynamic = (layer: LayerLike): boolean => layer.getClassName().startsWith('Dynamic');

/** A Conv2D or DynamicConv2D as a conv2d node; a dynamic layer's kernel × mask becomes CSR. */
function convNode(layer: LayerLike, input: string): GraphNode {
  requireChannelsLast(layer);
  const config = layer.getConfig();
  const dilation = pair(config['dilationRate'] ?? 1, 'dilationRate');
  if (dilation[0] !== 1 || dilation[1] !== 1) {
    throw new InvalidArgumentError(
      `Layer ${layer.name} is dilated; the container supports dilation 1.`,
    );
  }
  const w = namedWeights(layer);
  const kernel = w.get('kernel')!;
  const mask = w.get('mask');
  const [kh, kw] = pair(config['kernelSize'], 'kernelSize');
  const co = config['filters'] as number;
  const ci = kernel.length / (kh * kw * co);
  // tfjs kernel [kh][kw][ci][co] -> row o, column (ci * kh + y) * kw + x.
  const at = (o: number, col: number): number => {
    const x = col % kw;
    const y = Math.floor(col / kw) % kh;
    const i = Math.floor(col / (kw * kh));
    const k = ((y * kw + x) * ci + i) * co + o;
    return mask ? kernel[k]! * mask[k]! : kernel[k]!;
  };
  return {
    op: 'conv2d',
    name: layer.name,
    input,
    inChannels: ci,
    outChannels: co,
    kernelSize: [kh, kw],
    strides: pair(config['strides'] ?? 1, 'strides'),
    padding: paddingOf(layer),
    weight: toMatrix(co, ci * kh * kw, at, isDynamic(layer)),
    bias: w.get('bias') ?? null,
    activation: activationOf(layer),
  };
}

/** A Dense or DynamicDense as a dense node; a dynamic layer's kernel × mask becomes CSR. */
function denseNode(layer: LayerLike, input: string): GraphNode {
  const w = namedWeights(layer);
  const kernel = w.get('kernel')!;
  const mask = w.get('mask');
  const units = layer.getConfig()['units'] as number;
  const inFeatures = kernel.length / units;
  const at = (o: number, i: number): number => {
    const k = i * units + o;
    return mask ? kernel[k]! * mask[k]! : kernel[k]!;
  };
  return {
    op: 'dense',
    name: layer.name,
    input,
    inFeatures,
    outFeatures: units,
    weight: toMatrix(units, inFeatures, at, isDynamic(layer)),
    bias: w.get('bias') ?? null,
    activation: activationOf(layer),
  };
}

/** An inference-mode BatchNormalization over the channel axis, with its moving statistics. */
function batchNormNode(layer: LayerLike, input: string): GraphNode {
  const config = layer.getConfig();
  const axis = config['axis'];
  if (axis !== -1 && axis !== 3 && axis !== 1) {
    throw new InvalidArgumentError(
      `Layer ${layer.name} normalizes axis ${String(axis)}; only the last axis is supported.`,
    );
  }
  const w = namedWeights(layer);
  const mean = w.get('moving_mean')!;
  return {
    op: 'batchNorm',
    name: layer.name,
    input,
    gamma: w.get('gamma') ?? new Float32Array(mean.length).fill(1),
    beta: w.get('beta') ?? new Float32Array(mean.length),
    movingMean: mean,
    movingVariance: w.get('moving_variance')!,
    epsilon: (config['epsilon'] as number | undefined) ?? 1e-3,
  };
}

/** A MaxPooling2D or AveragePooling2D; strides default to the pool size, as in tfjs. */
function poolNode(layer: LayerLike, input: string): GraphNode {
  requireChannelsLast(layer);
  const config = layer.getConfig();
  const poolSize = pair(config['poolSize'] ?? 2, 'poolSize');
  return {
    op: layer.getClassName() === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
    name: layer.name,
    input,
    poolSize,
    strides: pair(config['strides'] ?? poolSize, 'strides'),
    padding: paddingOf(layer),
  };
}

/**
 * Reads `model` into a {@link ModelGraph}. Masked (dynamic) layers export their effective kernel
 * (kernel × mask) as CSR; plain layers export dense weights. Dropout disappears (inference only).
 */
export function modelToGraph(model: LayersModel, options: ToGraphOptions = {}): ModelGraph {
  const layers = layersInOrder(model);
  const nodes: GraphNode[] = [];
  // A skipped layer (dropout, linear activation) forwards its input's node name.
  const alias = new Map<string, string>();
  const resolve = (name: string): string => alias.get(name) ?? name;
  const inputOf = (layer: LayerLike): string => {
    const parents = layer.inboundNodes[0]?.inboundLayers ?? [];
    if (parents.length !== 1) {
      throw new InvalidArgumentError(
        `Layer ${layer.name} has ${parents.length} inputs; expected 1.`,
      );
    }
    return resolve(parents[0]!.name);
  };

  for (const layer of layers) {
    const cls = layer.getClassName();
    const name = layer.name;
    switch (cls) {
      case 'InputLayer': {
        const batchShape = layer.getConfig()['batchInputShape'] as (number | null)[];
        nodes.push({ op: 'input', name, shape: batchShape.slice(1) as number[] });
        break;
      }
      case 'Conv2D':
      case 'DynamicConv2D':
        nodes.push(convNode(layer, inputOf(layer)));
        break;
      case 'Dense':
      case 'DynamicDense':
        nodes.push(denseNode(layer, inputOf(layer)));
        break;
      case 'BatchNormalization':
      case 'FastBatchNormalization':
        nodes.push(batchNormNode(layer, inputOf(layer)));
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        nodes.push(poolNode(layer, inputOf(layer)));
        break;
      case 'GlobalAveragePooling2D':
        requireChannelsLast(layer);
        nodes.push({ op: 'globalAvgPool', name, input: inputOf(layer) });
        break;
      case 'Flatten':
        nodes.push({ op: 'flatten', name, input: inputOf(layer) });
        break;
      case 'ReLU':
        nodes.push({ op: 'relu', name, input: inputOf(layer) });
        break;
      case 'Softmax':
        nodes.push({ op: 'softmax', name, input: inputOf(layer) });
        break;
      case 'Activation': {
        const a = activationOf(layer);
        if (a === 'linear') alias.set(name, inputOf(layer));
        else nodes.push({ op: a, name, input: inputOf(layer) });
        break;
      }
      case 'Dropout':
      case 'SpatialDropout2D':
        alias.set(name, inputOf(layer));
        break;
      case 'Add': {
        const parents = layer.inboundNodes[0]?.inboundLayers ?? [];
        if (parents.length !== 2) {
          throw new InvalidArgumentError(
            `Layer ${name} adds ${parents.length} inputs; the container adds 2.`,
          );
        }
        nodes.push({
          op: 'add',
          name,
          inputs: [resolve(parents[0]!.name), resolve(parents[1]!.name)],
        });
        break;
      }
      default:
        throw new InvalidArgumentError(
          `Layer ${name} is a ${cls}, which the container does not support. Supported: Conv2D, Dense, ` +
            'DynamicConv2D, DynamicDense, BatchNormalization, MaxPooling2D, AveragePooling2D, ' +
            'GlobalAveragePooling2D, Flatten, ReLU, Softmax, Activation, Dropout, Add.',
        );
    }
  }
  const output = resolve(layers[layers.length - 1]!.name);
  const graph: ModelGraph = {
    nodes,
    output,
    metadata: { modelName: model.name, ...(options.metadata ?? {}) },
  };
  return options.foldBatchNorm === false ? graph : foldBatchNorms(graph);
}
