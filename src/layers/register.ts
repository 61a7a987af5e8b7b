// Explicit, idempotent registration of the dynamic layers with tfjs serialization (needed to load models).
import { serialization } from '@tensorflow/tfjs';
import { DynamicConv2D } from './dynamic-conv2d.js';
import { DynamicDense } from './dynamic-dense.js';
import { registerFastBatchNormalization } from './batch-norm.js';

/**
 * Makes `tf.loadLayersModel` and `tf.models.modelFromJSON` know DynamicConv2D, DynamicDense and
 * FastBatchNormalization. Nothing
 * registers on import (DESIGN.md); call this once before loading. Calling it again is harmless.
 */
export function registerDynamicLayers(): void {
  serialization.registerClass(DynamicConv2D);
  serialization.registerClass(DynamicDense);
  registerFastBatchNormalization();
}
