// sparsify(model): the same model with its Conv2D and Dense layers turned into dynamic (masked) layers.
import { models, type LayersModel } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { MaskedLayer, type MaskInit } from '../layers/masked-layer.js';
import { registerDynamicLayers } from '../layers/register.js';
import { scaleToActiveFanIn } from '../layers/sparse-init.js';
import { Random } from '../util/random.js';
import { allocate, type Allocation, type DistributionName } from './distributions.js';

export interface SparsifyOptions {
  /** Target sparsity over the converted layers (fraction of zeros), in [0, 1). */
  readonly sparsity: number;
  /** How the nonzeros are shared between layers (default `uniform`). */
  readonly distribution?: DistributionName;
  /** Layers to leave dense: names, or a predicate on the layer's name and class. */
  readonly exclude?: readonly string[] | ((layer: { name: string; className: string }) => boolean);
  /**
   * Which weights each mask keeps: `magnitude` (default; the largest of the copied weights, right for a
   * trained model) or `random` (the usual start of sparse training from scratch).
   */
  readonly maskInit?: MaskInit;
  /** Seeds random masks. */
  readonly seed?: number;
  /**
   * Scale each unit's copied weights to its active fan-in ({@link scaleToActiveFanIn}, Evci et al. 2022),
   * for sparse training from scratch. Default false (the dense initializer's scale, kept as it was).
   */
  readonly sparseInit?: boolean;
}

export interface SparsifyResult {
  readonly model: LayersModel;
  /** The nonzeros each converted layer got. */
  readonly allocation: readonly Allocation[];
}

const CONVERTED: Readonly<Record<string, string>> = {
  Conv2D: 'DynamicConv2D',
  Dense: 'DynamicDense',
};

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/**
 * Returns a new model in which every Conv2D and Dense layer (minus `exclude`) is a DynamicConv2D or
 * DynamicDense holding the same weights, masked to the requested sparsity. Other layers, the topology and
 * the layer names are unchanged. Works for Sequential and functional models. The input model is not
 * modified.
 */
export async function sparsify(
  model: LayersModel,
  options: SparsifyOptions,
): Promise<SparsifyResult> {
  registerDynamicLayers();
  const { sparsity } = options;
  const maskInit = options.maskInit ?? 'magnitude';
  const rng = new Random(options.seed ?? 0);
  const excluded = (name: string, className: string): boolean => {
    const ex = options.exclude;
    if (ex === undefined) return false;
    return typeof ex === 'function' ? ex({ name, className }) : ex.includes(name);
  };
  if (Array.isArray(options.exclude)) {
    const names = new Set(model.layers.map((l) => l.name));
    const unknown = options.exclude.filter((n) => !names.has(n));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `exclude names layers the model does not have: ${unknown.join(', ')}. Layers: ${[...names].join(', ')}.`,
      );
    }
  }
  const targets = model.layers.filter(
    (l) => CONVERTED[l.getClassName()] !== undefined && !excluded(l.name, l.getClassName()),
  );
  const allocation = allocate(
    options.distribution ?? 'uniform',
    targets.map((l) => ({ name: l.name, shape: l.getWeights()[0]!.shape })),
    sparsity,
  );
  const byName = new Map(allocation.map((a) => [a.name, a]));

  const json = model.toJSON(null, false) as unknown as {
    class_name: string;
    config: { layers: LayerJson[] };
  };
  for (const layer of json.config.layers) {
    const name = layer.config['name'] as string;
    const target = byName.get(name);
    if (target === undefined) continue;
    layer.class_name = CONVERTED[layer.class_name]!;
    // Initializers are irrelevant (the weights are copied) and regularizers/constraints unsupported.
    for (const key of Object.keys(layer.config)) {
      if (/initializer|regularizer|constraint/.test(key)) delete layer.config[key];
    }
    layer.config['sparsity'] = target.sparsity;
    layer.config['mask_init'] = maskInit;
  }
  const converted = await models.modelFromJSON({ modelTopology: json as never });
  for (const layer of converted.layers) {
    const source = model.getLayer(layer.name);
    const weights = source.getWeights();
    if (layer instanceof MaskedLayer) {
      const [kernel, bias] = weights;
      layer.kernelVariable.write(kernel!);
      if (bias) layer.setWeights([kernel!, bias, layer.maskVariable.read()]);
      layer.resetMask(byName.get(layer.name)!.sparsity, maskInit, rng);
      if (options.sparseInit) scaleToActiveFanIn(layer);
    } else if (weights.length > 0) {
      layer.setWeights(weights);
    }
  }
  return { model: converted, allocation };
}
