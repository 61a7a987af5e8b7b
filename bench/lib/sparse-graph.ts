// The benchmarks' models: a registry model with a random mask at a given sparsity, as a stored graph.
import { modelToGraph } from '../../src/convert/to-graph.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { getModel } from '../../src/models/registry.js';
import { sparsify } from '../../src/sparsity/sparsify.js';

/**
 * `name` built for CIFAR-10 shapes (seed 1), sparsified with a random mask (seed 7, DSR's keep-dense rule
 * where the model has one), and converted to the graph that is stored and run. BatchNorm is folded where
 * it follows a linear conv, so every engine runs the same folded graph.
 */
export async function sparseGraph(name: string, sparsity: number): Promise<ModelGraph> {
  const spec = getModel(name);
  const dense = spec.build({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const { model } = await sparsify(dense, {
    sparsity,
    maskInit: 'random',
    seed: 7,
    ...(spec.keepDense ? { exclude: (l: { name: string }) => spec.keepDense!(l.name) } : {}),
  });
  const graph = modelToGraph(model);
  dense.dispose();
  model.dispose();
  return graph;
}

export { median, timeMedian } from '../../src/experiments/latency.js';
