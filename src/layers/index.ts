// Dynamic layers: conv2d and dense with a binary mask whose sparsity can change during training and inference.
export { DynamicConv2D, type DynamicConv2DLayerArgs } from './dynamic-conv2d.js';
export { DynamicDense, type DynamicDenseLayerArgs } from './dynamic-dense.js';
export {
  MaskedLayer,
  checkSparsity,
  maskInits,
  type MaskInit,
  type MaskedLayerArgs,
  type SparsityArgs,
} from './masked-layer.js';
export { registerDynamicLayers } from './register.js';
export { fastBatchNormalization, type FastBatchNormalizationArgs } from './batch-norm.js';

import type { LayersModel } from '@tensorflow/tfjs';
import { MaskedLayer } from './masked-layer.js';

/** The dynamic (masked) layers of a model, in layer order. */
export function maskedLayers(model: LayersModel): MaskedLayer[] {
  return model.layers.filter((l): l is MaskedLayer => l instanceof MaskedLayer);
}
