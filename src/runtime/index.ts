// dynaprune/runtime: standalone sparse inference from a CSR container. Never imports tfjs.
import { loadSparse, type ContainerSource, type DecodeOptions } from '../format/index.js';
import type { Network } from './network.js';
import { createNetwork, type NetworkOptions } from './network.js';

export {
  createNetwork,
  Network,
  type NetworkOptions,
  type Profile,
  type RuntimeEngine,
} from './network.js';
export { DEFAULT_MAX_MEMORY_BYTES } from './arena.js';
export type { Classification } from './classify.js';
export type { ContainerSource, InputSpec, ModelMetadata, Provenance } from '../format/index.js';
export type { SetSparsityOptions } from './sparsity.js';
export {
  MagnitudeOrder,
  pruneGraph,
  pruneScopes,
  type PrunedLayer,
  type PruneScope,
  type SparsityTarget,
} from '../graph/prune.js';
export { argmax, measureAccuracy, measureLatency, type AccuracyResult } from './measure.js';
export { kernelState, simdSupported, type KernelState } from './kernels.js';
export { runReference, type Batch } from './reference.js';
export type { ModelGraph } from '../graph/types.js';
export { MemoryLimitError } from '../errors.js';
export {
  BadMagicError,
  InvalidModelError,
  InvalidSizeError,
  NonFiniteValueError,
  SectionChecksumError,
  TruncatedFileError,
  UnsupportedVersionError,
} from '../format/index.js';

/** The runtime's options plus the reader's ceilings (FORMAT.md, "Limits"). */
export interface LoadNetworkOptions
  extends
    NetworkOptions,
    Pick<DecodeOptions, 'maxElements' | 'maxTopologyBytes' | 'maxNodes' | 'allowNonFinite'> {}

/**
 * Loads a container (file path in Node, URL, ArrayBuffer, Uint8Array or fetch Response) and prepares it
 * for inference: `const net = await loadNetwork('model.dpr'); const probs = net.predict(images, batch)`.
 * A bad container throws the container's typed errors; one whose activations would exceed
 * `maxMemoryBytes` throws MemoryLimitError before allocating them.
 */
export async function loadNetwork(
  source: ContainerSource,
  options: LoadNetworkOptions = {},
): Promise<Network> {
  const { maxElements, maxTopologyBytes, maxNodes, allowNonFinite } = options;
  const decode = { maxElements, maxTopologyBytes, maxNodes, allowNonFinite };
  return createNetwork(await loadSparse(source, decode), options);
}
