// Loads a saved model that uses dynaprune's layers, registering them first (Node, from a folder or model.json).
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DataNotFoundError } from '../errors.js';
import { registerDynamicLayers } from '../layers/register.js';
import { folderHandler } from './model-files.js';

/**
 * Loads a tfjs layers model saved by dynaprune (a run's `model/` folder, or the path of its
 * `model.json`), with its DynamicConv2D, DynamicDense and FastBatchNormalization layers: they are
 * registered first, so no `registerDynamicLayers()` call is needed. Masks load with the weights.
 *
 * @throws DataNotFoundError when the path holds no model.json; CorruptFileError when its files are damaged.
 */
export async function loadDynamicModel(path: string): Promise<LayersModel> {
  registerDynamicLayers();
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new DataNotFoundError(`No model at ${path}: it does not exist.`);
  const folder = info.isDirectory() ? path : dirname(path);
  if (!info.isDirectory() && basename(path) !== 'model.json') {
    throw new DataNotFoundError(
      `${path} is not a model.json; give a model folder (holding model.json and weights.bin) or model.json.`,
    );
  }
  return loadLayersModel(folderHandler(folder));
}
