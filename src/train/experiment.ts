// One training run end to end: backend, data, model, training, run folder. What `dynaprune train` calls.
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { loadDataset, type DownloadProgress } from '../data/datasets.js';
import { getModel } from '../models/registry.js';
import { describeMachine } from './machine.js';
import { folderHandler, savedModelBytes } from './model-files.js';
import { RunFolder } from './run-folder.js';
import { train, type TrainCallbacks, type TrainResult } from './trainer.js';

/** Everything that defines a run; written to config.json. */
export interface TrainingRunConfig {
  readonly model: string;
  readonly dataset: string;
  /** A local copy of the dataset; default: $DYNAPRUNE_DATA, the cache, or a download. */
  readonly dataDir?: string;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Use only the first N training images. */
  readonly trainLimit?: number;
  /** Use only the first N test images. */
  readonly testLimit?: number;
  readonly backend: BackendRequest;
  readonly seed: number;
  /** The run folder. */
  readonly out: string;
  /** Continue from the run folder's checkpoint. */
  readonly resume: boolean;
  /** Random crop (padding 4) and horizontal flip. */
  readonly augment: boolean;
}

export interface TrainingRunEvents {
  /** One line of human-readable progress (backend chosen, data source...). */
  onLog?(line: string): void;
  onDownload?(progress: DownloadProgress): void;
  train?: TrainCallbacks;
}

export interface TrainingRunResult extends TrainResult {
  readonly outDir: string;
  readonly backend: string;
  /** Size of the saved dense tfjs model (model.json + weights.bin). */
  readonly denseBytes: number;
}

/**
 * Trains `config.model` on `config.dataset` and writes the run folder: config.json, metrics.jsonl,
 * sparsity.jsonl, checkpoints after every epoch, the final tfjs model under `model/`, and result.json.
 */
export async function runTraining(
  config: TrainingRunConfig,
  events: TrainingRunEvents = {},
): Promise<TrainingRunResult> {
  const log = events.onLog ?? (() => undefined);
  const backend = await initBackend(config.backend);
  log(backend.description);
  const data = await loadDataset(config.dataset, {
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    ...(config.trainLimit !== undefined ? { trainLimit: config.trainLimit } : {}),
    ...(config.testLimit !== undefined ? { testLimit: config.testLimit } : {}),
    ...(events.onDownload ? { onProgress: events.onDownload } : {}),
  });
  log(`data: ${config.dataset}, ${data.train.count} training and ${data.test.count} test images`);
  const spec = getModel(config.model);
  const model = spec.build({
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    seed: config.seed,
  });
  const run = new RunFolder(config.out);
  await run.writeConfig({
    ...config,
    command: process.argv.slice(1).join(' '),
    startedAt: new Date().toISOString(),
    backend: backend.backend,
    backendDescription: backend.description,
    machine: describeMachine(),
    parameters: model.countParams(),
  });
  const result = await train({
    model,
    train: data.train,
    validation: data.test,
    inputShape: data.inputShape,
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    seed: config.seed,
    ...(config.augment ? { augmentation: { cropPadding: 4, horizontalFlip: true } } : {}),
    runDir: config.out,
    resume: config.resume,
    ...(events.train ? { callbacks: events.train } : {}),
  });
  await model.save(folderHandler(run.modelDir));
  const denseBytes = await savedModelBytes(run.modelDir);
  await run.writeJson('result.json', {
    testAcc: result.final.acc,
    testLoss: result.final.loss,
    trainSeconds: result.trainSeconds,
    maskUpdateSeconds: result.maskUpdateSeconds,
    steps: result.steps,
    denseBytes,
    finishedAt: new Date().toISOString(),
  });
  model.dispose();
  return { ...result, outDir: config.out, backend: backend.backend, denseBytes };
}
