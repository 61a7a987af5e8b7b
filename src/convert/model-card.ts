// The metadata an exported container carries: how to feed the model, its class names, and how it was made.
import { InvalidArgumentError } from '../errors.js';
import type { InputSpec, ModelMetadata, Provenance } from '../format/metadata.js';
import { nonzeroCount } from '../graph/matrix.js';
import type { ModelGraph } from '../graph/types.js';
import { DYNAPRUNE_VERSION } from '../version.js';

/** What is known about the training run behind a model (all optional). */
export interface RunFacts {
  /**
   * The dataset's registry name. Every registered dataset is images of bytes that training scales by
   * 1/255, so it gives the input block.
   */
  readonly dataset?: string;
  /** The class names, one per output unit (a registered dataset's `labelNames`). */
  readonly labels?: readonly string[];
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
 * The `input`, `labels` and `provenance` members for `graph` (FORMAT.md, "Metadata"). The input block
 * needs the dataset and the labels their names (checked against the output when written); provenance is
 * always written, with null for what `facts` does not say. Imports no data loader, so it stays
 * browser-safe.
 */
export function modelCard(graph: ModelGraph, facts: RunFacts): ModelMetadata {
  const provenance: Provenance = {
    method: facts.method ?? null,
    sparsity: weightSparsity(graph),
    dataset: facts.dataset ?? null,
    testAccuracy: facts.testAccuracy ?? null,
    dynapruneVersion: DYNAPRUNE_VERSION,
  };
  const labels = facts.labels === undefined ? {} : { labels: [...facts.labels] };
  if (facts.dataset === undefined) return { ...labels, provenance };
  const first = graph.nodes[0];
  const shape = first?.op === 'input' ? first.shape : [];
  if (shape.length !== 3) {
    throw new InvalidArgumentError(
      `The model takes [${shape.join(', ')}], not images: ${facts.dataset} images are [h, w, c]. ` +
        'Export it without the dataset, or with the dataset it was trained on.',
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
  return { input, ...labels, provenance };
}
