// The CSR container: encode, decode, load and describe pruned models. No tfjs here.
export * from './graph.js';
export { encodeModel, type EncodeOptions } from './encode.js';
export {
  decodeModel,
  decodeModelDetailed,
  type DecodedModel,
  type DecodeOptions,
} from './decode.js';
export { loadSparse, readContainerBytes, type ContainerSource } from './load.js';
export { describeModel, type ContainerReport, type LayerReport } from './describe.js';
export * from './errors.js';
export {
  valuePrecisions,
  indexCodings,
  type ValuePrecision,
  type IndexCodingName,
} from './layout.js';
export { validateGraph, windowOutput, samePadBefore } from './validate.js';
