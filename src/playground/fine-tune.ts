// The playground's "prune further and fine-tune here", loaded on demand as its own chunk (tfjs and the training
// code): the container at the slider's point becomes a model of dynamic layers masked to its nonzeros, trains on
// the served training images on tfjs-wasm with dynaprune's training kernels, and is written back as a container.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { exportSparse, toLayersModel } from '../convert/export.js';
import type { ImageShape, ImageSplit } from '../data/types.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { decodeModel } from '../format/decode.js';
import type { Provenance } from '../format/metadata.js';
import { nonzeroCount } from '../graph/matrix.js';
import { pruneGraph, type PruneScope } from '../graph/prune.js';
import { maskedLayers } from '../layers/index.js';
import { train } from '../train/trainer.js';

export interface FineTuneRequest {
  /** The model's container as loaded (the stored weights). */
  readonly container: Uint8Array;
  /** The slider's point: a sparsity in [0, 1), 0 for the stored weights. */
  readonly sparsity: number;
  readonly scope: PruneScope;
  readonly train: ImageSplit;
  /** The page's held-out test images: tfjs evaluates on them after each epoch. */
  readonly heldOut: ImageSplit;
  readonly inputShape: ImageShape;
  /** The dataset's registry name and class names, for the container's metadata. */
  readonly dataset: string;
  readonly labels: readonly string[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Where tfjs-backend-wasm's .wasm files are served (the page serves them under wasm/). */
  readonly wasmUrl: string;
  /** After every training step. */
  readonly onStep?: (step: number, steps: number, loss: number) => void;
}

/** One weight layer's nnz as fine-tuning started and as the new container stores it. */
export interface FineTunedLayer {
  readonly name: string;
  readonly before: number;
  readonly after: number;
}

export interface FineTuneResult {
  /** The fine-tuned model as a container (fp32 values, BatchNorm folded), metadata carried over. */
  readonly container: Uint8Array;
  /** tfjs's backend and whether dynaprune's training kernels ran (they serve the conv filter gradient). */
  readonly backend: string;
  readonly trainingKernels: readonly string[];
  readonly steps: number;
  /** Mean training loss of each epoch. */
  readonly losses: readonly number[];
  /** tfjs's accuracy on the held-out images after the last epoch. */
  readonly heldOutAccuracy: number;
  readonly layers: readonly FineTunedLayer[];
  readonly seconds: number;
}

let backend: Promise<BackendChoice> | undefined;

/** tfjs on its wasm backend with dynaprune's training kernels, set up once per page. */
function wasmBackend(wasmUrl: string): Promise<BackendChoice> {
  if (!backend) {
    setWasmPaths(wasmUrl);
    backend = initBackend('wasm');
  }
  return backend;
}

/**
 * Prunes the container to the request's point (as the runtime's setSparsity does: magnitude, from the stored
 * weights), fine-tunes it with every mask fixed (Adam, sparse cross-entropy, the training loop of `dynaprune
 * train`) and returns the new container. BatchNorm nodes of a container written without folding train as
 * BatchNormalization layers; a folded container's convs carry the folded scale and train as they are.
 */
export async function fineTune(request: FineTuneRequest): Promise<FineTuneResult> {
  const started = performance.now();
  const choice = await wasmBackend(request.wasmUrl);
  const stored = decodeModel(request.container);
  const graph = request.sparsity > 0 ? pruneGraph(stored, request.sparsity, request.scope) : stored;
  const model = toLayersModel(graph, { dynamic: true });
  try {
    const layers = maskedLayers(model);
    const before = layers.map((l) => ({ name: l.name, nnz: l.nnz }));
    const result = await train({
      model,
      train: request.train,
      validation: request.heldOut,
      inputShape: request.inputShape,
      epochs: request.epochs,
      batchSize: request.batchSize,
      learningRate: request.learningRate,
      seed: 1,
      // A model pruned far past what it tolerates may stay at chance: that is the answer to show, not an error.
      divergence: false,
      callbacks: {
        onBatchEnd: (p) =>
          request.onStep?.((p.epoch - 1) * p.batches + p.batch, p.epochs * p.batches, p.loss),
      },
    });
    const provenance = stored.metadata['provenance'] as Provenance | undefined;
    const container = exportSparse(model, {
      metadata: {
        ...stored.metadata,
        fineTuned: {
          from: { sparsity: request.sparsity, scope: request.scope },
          images: request.train.count,
          epochs: request.epochs,
          steps: result.steps,
          batchSize: request.batchSize,
          learningRate: request.learningRate,
          where: 'browser (dynaprune playground)',
        },
      },
      // Accuracy on the page's few hundred images is not the test split's: provenance leaves it null.
      run: {
        dataset: request.dataset,
        labels: request.labels,
        ...(provenance?.method ? { method: provenance.method } : {}),
      },
    });
    const counts = decodeModel(container).nodes.flatMap((n) =>
      n.op === 'conv2d' || n.op === 'dense' ? [nonzeroCount(n.weight)] : [],
    );
    return {
      container,
      backend: choice.tfjsBackend,
      trainingKernels: choice.trainingKernels?.kernels ?? [],
      steps: result.steps,
      losses: result.epochs.map((e) => e.trainLoss),
      heldOutAccuracy: result.final.acc,
      layers: before.map((l, i) => ({ name: l.name, before: l.nnz, after: counts[i]! })),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}
