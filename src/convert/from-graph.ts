// Rebuilds a dense tfjs layers model from a ModelGraph, so a container runs anywhere tfjs runs.
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
import type { ModelGraph } from '../graph/types.js';

/**
 * A tfjs functional model computing what `graph` computes, with plain Conv2D/Dense layers holding the
 * (zero-filled) dense weights. Layer names follow the graph's node names.
 */
export function graphToLayersModel(graph: ModelGraph): LayersModel {
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
        const [kh, kw] = node.kernelSize;
        const { inChannels: ci, outChannels: co } = node;
        const layer = layers.conv2d({
          name: node.name,
          filters: co,
          kernelSize: [kh, kw],
          strides: [...node.strides],
          padding: node.padding,
          activation: node.activation,
          useBias: node.bias !== null,
        });
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        const w = denseValues(node.weight);
        const kernel = new Float32Array(kh * kw * ci * co);
        for (let o = 0; o < co; o++) {
          for (let i = 0; i < ci; i++) {
            for (let y = 0; y < kh; y++) {
              for (let x = 0; x < kw; x++) {
                kernel[((y * kw + x) * ci + i) * co + o] =
                  w[o * ci * kh * kw + (i * kh + y) * kw + x]!;
              }
            }
          }
        }
        const weights = [tensor(kernel, [kh, kw, ci, co])];
        if (node.bias) weights.push(tensor(node.bias, [co]));
        pending.push({ layer, weights });
        break;
      }
      case 'dense': {
        const layer = layers.dense({
          name: node.name,
          units: node.outFeatures,
          activation: node.activation,
          useBias: node.bias !== null,
        });
        outputs.set(node.name, layer.apply(get(node.input)) as SymbolicTensor);
        const w = denseValues(node.weight);
        const kernel = new Float32Array(node.inFeatures * node.outFeatures);
        for (let o = 0; o < node.outFeatures; o++) {
          for (let i = 0; i < node.inFeatures; i++)
            kernel[i * node.outFeatures + o] = w[o * node.inFeatures + i]!;
        }
        const weights = [tensor(kernel, [node.inFeatures, node.outFeatures])];
        if (node.bias) weights.push(tensor(node.bias, [node.outFeatures]));
        pending.push({ layer, weights });
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
