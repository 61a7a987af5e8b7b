// exportSparse / toLayersModel: between a tfjs model (dense or dynamic) and the CSR container's bytes.
import type { LayersModel } from '@tensorflow/tfjs';
import { encodeModel, type EncodeOptions } from '../format/encode.js';
import { decodeModel } from '../format/decode.js';
import type { ModelGraph } from '../graph/types.js';
import { graphToLayersModel } from './from-graph.js';
import { modelToGraph, type ToGraphOptions } from './to-graph.js';

export interface ExportOptions extends EncodeOptions, ToGraphOptions {}

/**
 * The container bytes of `model`: dynamic layers become CSR matrices of their effective (masked)
 * kernels; BatchNorm is folded into the preceding conv or dense layer where possible (`foldBatchNorm`).
 */
export function exportSparse(model: LayersModel, options: ExportOptions = {}): Uint8Array {
  return encodeModel(modelToGraph(model, options), options);
}

/** A plain tfjs model computing what the container computes, for any tfjs backend. */
export function toLayersModel(container: ModelGraph | Uint8Array): LayersModel {
  const graph = container instanceof Uint8Array ? decodeModel(container) : container;
  return graphToLayersModel(graph);
}
