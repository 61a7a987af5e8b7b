// Conversion between tfjs layers models and the container's ModelGraph.
export { exportSparse, toLayersModel, type ExportOptions } from './export.js';
export { graphToLayersModel } from './from-graph.js';
export { modelToGraph, type ToGraphOptions } from './to-graph.js';
