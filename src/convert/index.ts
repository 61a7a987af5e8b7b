// Conversion between tfjs layers models and the container's ModelGraph.
export { exportSparse, toLayersModel, type ExportOptions } from './export.js';
export { graphToLayersModel, type FromGraphOptions } from './from-graph.js';
export { modelCard, weightSparsity, type RunFacts } from './model-card.js';
export { modelToGraph, type ToGraphOptions } from './to-graph.js';
export {
  exportOnnx,
  toOnnxModel,
  ONNX_IR_VERSION,
  ONNX_OPSET_VERSION,
  type OnnxExportOptions,
} from './onnx-export.js';
export {
  encodeOnnxModel,
  type OnnxModel,
  type OnnxNode,
  type OnnxInitializer,
} from './onnx-proto.js';
