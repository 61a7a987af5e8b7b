// The metadata an exported container carries: how to feed the model, its class names, and how it was made.
import { getDataset } from '../data/registry.js';
import { InvalidArgumentError } from '../errors.js';
import type { InputSpec, ModelMetadata, Provenance } from '../format/metadata.js';
import { nonzeroCount } from '../graph/matrix.js';
import type { ModelGraph } from '../graph/types.js';
import { DYNAPRUNE_VERSION } from '../version.js';

/** What is known about the training run behind a model (all optional). */
export interface RunFacts {
  /** The dataset's registry name: gives the input block (bytes / 255, as training scaled them) and labels. */
  readonly dataset?: string;
  /** The training method (`dsr`, `dense`, ...). */
  readonly method?: string;
  /** Accuracy on the test split, in [0, 1]. */
  readonly testAccuracy?: number;
}

/** Fraction of zeros over every conv2d and dense weight of `graph`. */
export function weightSparsity(graph: ModelGraph): number {
  let size = 0;
  let nnz = 0;
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'dense') continue;
    size += node.weight.rows * node.weight.cols;
    nnz += nonzeroCount(node.weight);
  }
  return size === 0 ? 0 : 1 - nnz / size;
}

/**
 * The `input`, `labels` and `provenance` members for `graph` (FORMAT.md, "Metadata"). The input block and
 * labels need the dataset; provenance is always written, with null for what `facts` does not say.
 */
export function modelCard(graph: ModelGraph, facts: RunFacts): ModelMetadata {
  const provenance: Provenance = {
    method: facts.method ?? null,
    sparsity: weightSparsity(graph),
    dataset: facts.dataset ?? null,
    testAccuracy: facts.testAccuracy ?? null,
    dynapruneVersion: DYNAPRUNE_VERSION,
  };
  if (facts.dataset === undefined) return { provenance };
  const dataset = getDataset(facts.dataset);
  const first = graph.nodes[0];
  const shape = first?.op === 'input' ? first.shape : [];
  if (shape.join(',') !== dataset.inputShape.join(',')) {
    throw new InvalidArgumentError(
      `The model takes [${shape.join(', ')}] but ${dataset.name} images are [${dataset.inputShape.join(', ')}]; ` +
        'export it without the dataset, or with the dataset it was trained on.',
    );
  }
  // src/data/batch.ts feeds training with byte / 255 and no mean or std: the runtime must do the same.
  const input: InputSpec = {
    shape: [...shape],
    layout: 'hwc',
    dtype: 'uint8',
    divisor: 255,
    mean: null,
    std: null,
  };
  return { input, labels: [...dataset.labelNames], provenance };
}
