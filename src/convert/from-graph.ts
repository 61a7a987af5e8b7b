// Rebuilds a tfjs layers model from a ModelGraph: plain layers, so a container runs anywhere tfjs runs, or
// dynamic layers whose masks are the stored nonzero patterns, so a container can be fine-tuned with them fixed.
import {
  input,
  layers,
  model as functionalModel,
  tensor,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { denseValues } from '../graph/matrix.js';
import type { Conv2dNode, DenseNode, ModelGraph, WeightMatrix } from '../graph/types.js';
import { DynamicConv2D } from '../layers/dynamic-conv2d.js';
import { DynamicDense } from '../layers/dynamic-dense.js';

export interface FromGraphOptions {
  /**
   * Build conv2d and dense nodes as DynamicConv2D / DynamicDense layers whose mask is the node's stored
   * nonzero pattern (CSR entries, or the nonzeros of a dense matrix), so training keeps every layer's nnz
   * exactly (fine-tuning a container). Default false: plain Conv2D / Dense layers.
   */
  readonly dynamic?: boolean;
}

/** 1 at every stored entry of `w` (a CSR matrix's entries, a dense matrix's nonzeros), row-major [rows, cols]. */
function pattern(w: WeightMatrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  if (w.kind === 'dense') {
    w.values.forEach((v, i) => (out[i] = v === 0 ? 0 : 1));
    return out;
  }
  for (let r = 0; r < w.rows; r++)
    for (let k = w.rowPtr[r]!; k < w.rowPtr[r + 1]!; k++) out[r * w.cols + w.colIdx[k]!] = 1;
  return out;
}

/** A conv's [out, in·kh·kw] row-major matrix in tfjs's kernel layout [kh, kw, in, out]. */
function convLayout(node: Conv2dNode, w: Float32Array): Float32Array {
  const [kh, kw] = node.kernelSize;
  const { inChannels: ci, outChannels: co } = node;
  const kernel = new Float32Array(kh * kw * ci * co);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          kernel[((y * kw + x) * ci + i) * co + o] = w[o * ci * kh * kw + (i * kh + y) * kw + x]!;
  return kernel;
}

/** A dense layer's [out, in] row-major matrix in tfjs's kernel layout [in, out]. */
function denseLayout(node: DenseNode, w: Float32Array): Float32Array {
  const kernel = new Float32Array(node.inFeatures * node.outFeatures);
  for (let o = 0; o < node.outFeatures; o++)
    for (let i = 0; i < node.inFeatures; i++)
      kernel[i * node.outFeatures + o] = w[o * node.inFeatures + i]!;
  return kernel;
}

/** The weights of a conv or dense node in the order its layer declares them: kernel, bias, then the mask. */
function weightTensors(
  node: Conv2dNode | DenseNode,
  dynamic: boolean,
): ReturnType<typeof tensor>[] {
  const shape =
    node.op === 'conv2d'
      ? [...node.kernelSize, node.inChannels, node.outChannels]
      : [node.inFeatures, node.outFeatures];
  const layout = (w: Float32Array) =>
    node.op === 'conv2d' ? convLayout(node, w) : denseLayout(node, w);
  const weights = [tensor(layout(denseValues(node.weight)), shape)];
  if (node.bias) weights.push(tensor(node.bias, [node.bias.length]));
  if (dynamic) weights.push(tensor(layout(pattern(node.weight)), shape));
  return weights;
}

/**
 * A tfjs functional model computing what `graph` computes, with Conv2D/Dense layers holding the
 * (zero-filled) dense weights, or with dynamic layers (`{ dynamic: true }`). Layer names follow the graph's
 * node names. BatchNorm nodes become BatchNormalization layers (a container written with BatchNorm folded
 * has none: its convs carry the folded scale and shift, and train as such).
 */
export function graphToLayersModel(graph: ModelGraph, options: FromGraphOptions = {}): LayersModel {
  const dynamic = options.dynamic ?? false;
  const outputs = new Map<string, SymbolicTensor>();
  const pending: {
    layer: { setWeights(w: ReturnType<typeof tensor>[]): void };
    weights: ReturnType<typeof tensor>[];
  }[] = [];
  let modelInput: SymbolicTensor | undefined;
  const get = (name: string): SymbolicTensor => {
    const t = outputs.get(name);
    if (t === undefined)
      throw new InvalidArgumentError(`Graph node input "${name}" is not defined before use.`);
    return t;
  };
  for (const node of graph.nodes) {
    switch (node.op) {
      case 'input':
        modelInput = input({ shape: [...node.shape], name: node.name });
        outputs.set(node.name, modelInput);
        break;
      case 'conv2d': {
        const args = {
          name: node.name,
          filters: node.outChannels,
          kernelSize: [...node.kernelSize] as [number, number],
          strides: [...node.strides] as [number, number],
          padding: node.padding,
          activation: node.activation,
          useBias: node.bias !== null,
        };
        const layer = dynamic ? new DynamicConv2D(args) : layers.conv2d(args);
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        pending.push({ layer, weights: weightTensors(node, dynamic) });
        break;
      }
      case 'dense': {
        const args = {
          name: node.name,
          units: node.outFeatures,
          activation: node.activation,
          useBias: node.bias !== null,
        };
        const layer = dynamic ? new DynamicDense(args) : layers.dense(args);
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        pending.push({ layer, weights: weightTensors(node, dynamic) });
        break;
      }
      case 'batchNorm': {
        const layer = layers.batchNormalization({ name: node.name, epsilon: node.epsilon });
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        pending.push({
          layer,
          weights: [node.gamma, node.beta, node.movingMean, node.movingVariance].map((v) =>
            tensor(v),
          ),
        });
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const make = node.op === 'maxPool' ? layers.maxPooling2d : layers.averagePooling2d;
        const layer = make({
          name: node.name,
          poolSize: [...node.poolSize],
          strides: [...node.strides],
          padding: node.padding,
        });
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        break;
      }
      case 'globalAvgPool':
        outputs.set(
          node.name,
          layers
            .globalAveragePooling2d({ name: node.name })
            .apply(get(node.input)) as SymbolicTensor,
        );
        break;
      case 'flatten':
        outputs.set(
          node.name,
          layers.flatten({ name: node.name }).apply(get(node.input)) as SymbolicTensor,
        );
        break;
      case 'relu':
        outputs.set(
          node.name,
          layers.reLU({ name: node.name }).apply(get(node.input)) as SymbolicTensor,
        );
        break;
      case 'softmax':
        outputs.set(
          node.name,
          layers.softmax({ name: node.name }).apply(get(node.input)) as SymbolicTensor,
        );
        break;
      case 'add':
        outputs.set(
          node.name,
          layers
            .add({ name: node.name })
            .apply([get(node.inputs[0]), get(node.inputs[1])]) as SymbolicTensor,
        );
        break;
    }
  }
  if (modelInput === undefined) throw new InvalidArgumentError('The graph has no input node.');
  const result = functionalModel({ inputs: modelInput, outputs: get(graph.output) });
  for (const { layer, weights } of pending) {
    layer.setWeights(weights);
    weights.forEach((t) => t.dispose());
  }
  return result;
}
