// stripMasks: a trained dynamic model as a plain tfjs model (conv2d/dense with masked kernels), like tfmot's strip_pruning.
import {
  models,
  tidy,
  type LayersModel,
  type Tensor,
  type io,
  type serialization,
} from '@tensorflow/tfjs';
import { ShapeMismatchError } from '../errors.js';

/** The plain tfjs class each of dynaprune's layer classes becomes. */
const PLAIN_CLASS: Readonly<Record<string, string>> = {
  DynamicConv2D: 'Conv2D',
  DynamicDense: 'Dense',
  FastBatchNormalization: 'BatchNormalization',
};
/** Config keys that only the dynamic layers know (tfjs writes them in snake_case). */
const DYNAMIC_KEYS = ['sparsity', 'mask_init', 'seed'];

type LayerJson = { class_name: string; config: Record<string, unknown> };

/** Rewrites a model's topology so that every layer is a built-in tfjs layer. */
function plainTopology(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(plainTopology);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = plainTopology(value);
  const layer = out as Partial<LayerJson>;
  const plain = typeof layer.class_name === 'string' ? PLAIN_CLASS[layer.class_name] : undefined;
  if (plain !== undefined && layer.config && typeof layer.config === 'object') {
    layer.class_name = plain;
    layer.config = Object.fromEntries(
      Object.entries(layer.config).filter(([k]) => !DYNAMIC_KEYS.includes(k)),
    );
  }
  return out;
}

/**
 * A copy of `model` made of plain tfjs layers only: each DynamicConv2D and DynamicDense becomes a
 * `conv2d` or `dense` whose kernel is the effective kernel (kernel × mask, exact zeros where the mask is
 * 0), FastBatchNormalization becomes `batchNormalization`, and the mask weights are gone. The copy
 * computes what the model computes, loads with plain `tf.loadLayersModel` (no `registerDynamicLayers`),
 * and can be converted or served by any tfjs tool. The counterpart of tfmot's `strip_pruning`.
 *
 * The caller owns the returned model (dispose it when done); `model` is not changed.
 */
export async function stripMasks(model: LayersModel): Promise<LayersModel> {
  const topology = plainTopology(model.toJSON(null, false)) as serialization.ConfigDict;
  const plain = await models.modelFromJSON({ modelTopology: topology } as io.ModelJSON);
  const layers = plain.layers;
  if (layers.length !== model.layers.length) {
    plain.dispose();
    throw new ShapeMismatchError(
      `stripMasks rebuilt ${layers.length} layers for ${model.layers.length}.`,
    );
  }
  model.layers.forEach((layer, i) => {
    // A layer's weights are its trainable ones then the rest; without the mask, the plain layer's order.
    const values = tidy(() => {
      const mask = layer.weights.find((w) => w.originalName.endsWith('/mask'))?.read();
      return layer.weights
        .filter((w) => !w.originalName.endsWith('/mask'))
        .map((w) =>
          mask && w.originalName.endsWith('/kernel') ? w.read().mul(mask) : w.read().clone(),
        );
    });
    try {
      layers[i]!.setWeights(values);
    } finally {
      values.forEach((v: Tensor) => v.dispose());
    }
  });
  return plain;
}
