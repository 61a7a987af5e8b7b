// exportSparse / toLayersModel: between a tfjs model (dense or dynamic) and the CSR container's bytes.
import type { LayersModel } from '@tensorflow/tfjs';
import { encodeModel, type EncodeOptions } from '../format/encode.js';
import { decodeModel } from '../format/decode.js';
import type { ModelGraph } from '../graph/types.js';
import { graphToLayersModel, type FromGraphOptions } from './from-graph.js';
import { modelCard, type RunFacts } from './model-card.js';
import { modelToGraph, type ToGraphOptions } from './to-graph.js';

export interface ExportOptions extends EncodeOptions, ToGraphOptions {
  /**
   * What is known about the run that trained the model: the container's metadata then says how to feed
   * it (`input`: the dataset's shape, bytes / 255), its class names (`labels`) and how it was made
   * (`provenance`). Without it, provenance still records the measured sparsity and the version.
   */
  readonly run?: RunFacts;
}

/**
 * The container bytes of `model`: dynamic layers become CSR matrices of their effective (masked)
 * kernels; BatchNorm is folded into the preceding conv or dense layer where possible (`foldBatchNorm`).
 */
export function exportSparse(model: LayersModel, options: ExportOptions = {}): Uint8Array {
  const graph = modelToGraph(model, options);
  const metadata = { ...graph.metadata, ...modelCard(graph, options.run ?? {}) };
  return encodeModel({ ...graph, metadata }, options);
}

/**
 * A tfjs model computing what the container computes, for any tfjs backend: plain layers, or with
 * `{ dynamic: true }` DynamicConv2D / DynamicDense layers masked to the stored nonzeros, ready to fine-tune
 * with every layer's nnz kept (train it, then `exportSparse` it again).
 */
export function toLayersModel(
  container: ModelGraph | Uint8Array,
  options: FromGraphOptions = {},
): LayersModel {
  const graph = container instanceof Uint8Array ? decodeModel(container) : container;
  return graphToLayersModel(graph, options);
}
