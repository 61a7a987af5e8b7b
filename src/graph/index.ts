// The model graph: its types, shape inference and validation, rewrites and weight-matrix helpers. No tfjs.
export * from './types.js';
export {
  validateGraph,
  windowOutput,
  samePadBefore,
  shapeSize,
  nodeInputs,
  MAX_ACTIVATION_ELEMENTS,
  type Shape,
  type ErrorFactory,
  type GraphProblem,
} from './shapes.js';
export { foldBatchNorms, fuseRelus } from './rewrites.js';
export { nonzeroCount, denseValues, toCsr, toDense, scaleRows } from './matrix.js';
