// Graph rewrites before inference: BatchNorm folded and ReLU fused into the conv or dense layer before them.
import { scaleRows } from './matrix.js';
import { knownShapes, nodeInputs, rememberShapes, type Shape } from './shapes.js';
import type { GraphNode, ModelGraph } from './types.js';

/**
 * Folds y = gamma (x − mean) / sqrt(var + eps) + beta into the preceding conv/dense: each output unit's
 * weights scale by s = gamma / sqrt(var + eps) and its bias becomes s (b − mean) + beta. Only when the
 * layer's activation is linear, the BatchNorm is its only consumer and the layer is not the graph's output;
 * otherwise the node stays.
 */
export function foldBatchNorms(graph: ModelGraph): ModelGraph {
  return absorbIntoLinearLayers(graph, (node, layer) => {
    if (node.op !== 'batchNorm') return undefined;
    const units = layer.op === 'conv2d' ? layer.outChannels : layer.outFeatures;
    const scale = new Float32Array(units);
    const bias = new Float32Array(units);
    for (let u = 0; u < units; u++) {
      scale[u] = node.gamma[u]! / Math.sqrt(node.movingVariance[u]! + node.epsilon);
      bias[u] = scale[u]! * ((layer.bias?.[u] ?? 0) - node.movingMean[u]!) + node.beta[u]!;
    }
    return { ...layer, weight: scaleRows(layer.weight, scale), bias };
  });
}

/**
 * Fuses a ReLU node into the conv or dense layer before it (activation linear → relu), when the ReLU is
 * that layer's only consumer and the layer is not the graph's output: one pass over the output, not three.
 */
export function fuseRelus(graph: ModelGraph): ModelGraph {
  return absorbIntoLinearLayers(graph, (node, layer) =>
    node.op === 'relu' ? { ...layer, activation: 'relu' } : undefined,
  );
}

type LinearNode = Extract<GraphNode, { op: 'conv2d' | 'dense' }>;

/**
 * The rewrite both passes share: each node that reads a linear-activation conv or dense layer which has
 * no other consumer and is not the graph's output may be merged into it by `absorb` (undefined: keep the
 * node). A merged node disappears, and whatever read it reads the layer instead.
 */
function absorbIntoLinearLayers(
  graph: ModelGraph,
  absorb: (node: GraphNode, layer: LinearNode) => LinearNode | undefined,
): ModelGraph {
  const consumers = countConsumers(graph);
  const renamed = new Map<string, string>();
  const out: GraphNode[] = [];
  const position = new Map<string, number>(); // where each kept node sits in `out`
  for (const node of graph.nodes) {
    const input = node.op === 'input' || node.op === 'add' ? undefined : node.input;
    const at = input === undefined ? undefined : position.get(input);
    const prev = at === undefined ? undefined : out[at];
    if (
      at !== undefined &&
      prev &&
      (prev.op === 'conv2d' || prev.op === 'dense') &&
      prev.activation === 'linear' &&
      prev.name !== graph.output &&
      (consumers.get(prev.name) ?? 0) === 1
    ) {
      const merged = absorb(node, prev);
      if (merged) {
        out[at] = merged;
        renamed.set(node.name, prev.name);
        continue;
      }
    }
    position.set(node.name, out.length);
    out.push(renameInputs(node, renamed));
  }
  const result = { ...graph, nodes: out, output: renamed.get(graph.output) ?? graph.output };
  // The merged layer keeps its name and takes the absorbed node's shape, which is its own.
  const shapes = knownShapes(graph);
  if (shapes) {
    const kept = new Map<string, Shape>();
    for (const node of out) kept.set(node.name, shapes.get(node.name)!);
    rememberShapes(result, kept);
  }
  return result;
}

/** How many nodes read each node's output. */
function countConsumers(graph: ModelGraph): Map<string, number> {
  const consumers = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const name of nodeInputs(node)) consumers.set(name, (consumers.get(name) ?? 0) + 1);
  }
  return consumers;
}

function renameInputs(node: GraphNode, renamed: Map<string, string>): GraphNode {
  if (renamed.size === 0) return node;
  if (node.op === 'add') {
    return {
      ...node,
      inputs: [
        renamed.get(node.inputs[0]) ?? node.inputs[0],
        renamed.get(node.inputs[1]) ?? node.inputs[1],
      ],
    };
  }
  if (node.op === 'input') return node;
  return { ...node, input: renamed.get(node.input) ?? node.input };
}
