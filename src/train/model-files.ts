// Saves and loads tfjs models as model.json + weights.bin in a folder, in Node, without tfjs-node.
import { io } from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

function asBytes(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(io.concatenateArrayBuffers(data));
}

/**
 * An IOHandler for `model.save(handler)` and `tf.loadLayersModel(handler)` that uses the tfjs file layout
 * (the one `tensorflowjs_converter` and tfjs-node's `file://` produce): `dir/model.json` and
 * `dir/weights.bin`. Both files are written atomically, weights first, so a reader never sees a
 * model.json whose weights are missing.
 */
export function folderHandler(dir: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const weights = asBytes(artifacts.weightData);
      const manifest: io.WeightsManifestConfig = [
        { paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] },
      ];
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology as io.ModelJSON['modelTopology'],
        weightsManifest: manifest,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'dynaprune',
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata
          ? { userDefinedMetadata: artifacts.userDefinedMetadata }
          : {}),
      };
      await writeFileAtomic(join(dir, WEIGHTS_FILE), weights);
      await writeFileAtomic(join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<io.ModelArtifacts> {
      const path = join(dir, MODEL_FILE);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw new DataNotFoundError(`No tfjs model at ${path}.`, { cause: error });
      }
      let modelJson: io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as io.ModelJSON;
      } catch (error) {
        throw new CorruptFileError(path, 'is not valid JSON.', 'E_CORRUPT_FILE', { cause: error });
      }
      if (modelJson.modelTopology === undefined) {
        throw new CorruptFileError(path, 'has no modelTopology; is it a tfjs layers model?');
      }
      return io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = io.getWeightSpecs(manifest);
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          for (const file of group.paths) buffers.push(await readFile(join(dir, file)));
        }
        const total = buffers.reduce((n, b) => n + b.length, 0);
        const joined = new Uint8Array(total);
        let at = 0;
        for (const b of buffers) {
          joined.set(b, at);
          at += b.length;
        }
        const expected = specs.reduce(
          (n, s) =>
            n +
            s.shape.reduce((a, b) => a * b, 1) *
              (s.dtype === 'float32' || s.dtype === 'int32' ? 4 : 1),
          0,
        );
        if (expected !== total) {
          throw new CorruptFileError(
            join(dir, WEIGHTS_FILE),
            `holds ${total} bytes but model.json describes ${expected} bytes of weights.`,
          );
        }
        return [specs, joined.buffer];
      });
    },
  };
}

/** The size in bytes of a saved tfjs model (model.json + weights), the "dense tfjs model" yardstick. */
export async function savedModelBytes(dir: string): Promise<number> {
  const [json, weights] = await Promise.all([
    readFile(join(dir, MODEL_FILE)),
    readFile(join(dir, WEIGHTS_FILE)),
  ]);
  return json.length + weights.length;
}
