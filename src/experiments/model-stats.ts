// Facts about a trained model that the reports compare: nonzero parameters, multiply-adds, sizes.
import type { LayersModel } from '@tensorflow/tfjs';
import { modelToGraph } from '../convert/to-graph.js';
import type { ModelGraph } from '../graph/types.js';
import { validateGraph } from '../graph/shapes.js';
import { allocate, type DistributionName } from '../sparsity/distributions.js';

/** Nonzero trainable parameters: kernels (masked ones at their nnz), biases, BatchNorm gamma and beta. */
export function nonzeroTrainableParameters(model: LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const values = layer.getWeights();
    const short = layer.weights.map((w) => w.originalName.split('/').pop());
    const maskAt = short.indexOf('mask');
    layer.weights.forEach((w, i) => {
      if (!w.trainable) return;
      if (short[i] === 'kernel' && maskAt >= 0) {
        for (const m of values[maskAt]!.dataSync()) if (m !== 0) total++;
      } else {
        total += values[i]!.size;
      }
    });
  }
  return total;
}

/** Multiply-adds per image: conv nnz × output positions, dense nnz (zeros skipped, as sparse kernels do). */
export function multiplyAddsPerImage(graph: ModelGraph): { sparse: number; dense: number } {
  const shapes = validateGraph(graph, (message) => new Error(message));
  let sparse = 0;
  let dense = 0;
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'dense') continue;
    const w = node.weight;
    const nnz =
      w.kind === 'csr' ? w.values.length : w.values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    const positions =
      node.op === 'conv2d' ? shapes.get(node.name)![0]! * shapes.get(node.name)![1]! : 1;
    sparse += nnz * positions;
    dense += w.rows * w.cols * positions;
  }
  return { sparse, dense };
}

export function multiplyAddsOfModel(model: LayersModel): { sparse: number; dense: number } {
  return multiplyAddsPerImage(modelToGraph(model, { foldBatchNorm: false }));
}

/**
 * The largest-density (smallest) sparsity at which `model`'s sparse layers, with everything else dense,
 * keep at most `budget` nonzero trainable parameters. `sparseLayers` are the kernels to prune (name and
 * shape); `otherParameters` counts every trainable parameter outside them (biases, BatchNorm, kept-dense
 * kernels).
 */
export function sparsityForBudget(
  sparseLayers: readonly { name: string; shape: readonly number[] }[],
  otherParameters: number,
  budget: number,
  distribution: DistributionName = 'uniform',
): number {
  const kernelTotal = sparseLayers.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
  const kernelBudget = budget - otherParameters;
  if (kernelBudget <= 0)
    throw new Error(`The budget ${budget} is below the ${otherParameters} dense parameters.`);
  // Start from the exact ratio and back off until rounding per layer fits the budget.
  let sparsity = Math.max(0, 1 - kernelBudget / kernelTotal);
  for (let i = 0; i < 1000; i++) {
    const nnz = allocate(distribution, sparseLayers, sparsity).reduce((a, l) => a + l.nnz, 0);
    if (nnz <= kernelBudget) return sparsity;
    sparsity += 1e-6;
  }
  throw new Error('Could not fit the budget.');
}
