// Identity for tfjs-wasm without a copy: the output shares the input's heap data, as Reshape already does.
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * tfjs clones every tensor it saves for the backward pass (engine.clone runs Identity), and tfjs-wasm's
 * Identity copies the bytes: tens of full activation copies per training step. No wasm kernel writes
 * into its inputs (outputs always come from makeOutput, variables are replaced on assign, never written
 * through), so sharing the data under a reference count, as tfjs's cpu backend and tfjs-wasm's own
 * Reshape do, is safe. String tensors keep the stock kernel.
 */
export function identityShared(args: {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
}): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
