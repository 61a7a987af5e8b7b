// Explicit, idempotent registration of the dynamic layers with tfjs serialization (needed to load models).
import { serialization } from '@tensorflow/tfjs';
import { DynamicConv2D } from './dynamic-conv2d.js';
import { DynamicDense } from './dynamic-dense.js';
import { registerFastBatchNormalization } from './batch-norm.js';

/**
 * Makes `tf.loadLayersModel` and `tf.models.modelFromJSON` know DynamicConv2D, DynamicDense and
 * FastBatchNormalization. Call it once before loading; calling it again is harmless.
 *
 * STYLE.md asks both for `registerClass` on the line after each class and for nothing to register on
 * import. The two conflict; we keep the second (see docs/DECISIONS.md): the calls live here, together.
 */
export function registerDynamicLayers(): void {
  serialization.registerClass(DynamicConv2D);
  serialization.registerClass(DynamicDense);
  registerFastBatchNormalization();
}
