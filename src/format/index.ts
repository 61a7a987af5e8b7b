// The CSR container's byte codec: encode, decode, load and describe pruned models. No tfjs here.
// The graph it stores (types, validation, rewrites) lives in src/graph.
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
  metadataProblem,
  prepareInput,
  type InputSpec,
  type ModelMetadata,
  type Provenance,
} from './metadata.js';
export {
  DEFAULT_MAX_ELEMENTS,
  DEFAULT_MAX_NODES,
  DEFAULT_MAX_TOPOLOGY_BYTES,
  MAX_MATRIX_ELEMENTS,
} from './layout.js';
export {
  valuePrecisions,
  indexCodings,
  type ValuePrecision,
  type IndexCodingName,
} from './layout.js';
