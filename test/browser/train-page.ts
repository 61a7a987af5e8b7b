// The in-browser training check, bundled for Chromium: DSR trains a small DynamicConv2D/DynamicDense CNN on the
// tfjs wasm backend with dynaprune's training kernels, and the page publishes what the test needs to judge it.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  DSR,
  DoublingSchedule,
  DynamicConv2D,
  DynamicDense,
  Random,
  SparseTrainer,
  initBackend,
  maskedLayers,
  train,
} from '../../src/index.js';

const SHAPE = [12, 12, 3] as const;
const CLASSES = 4;

/** Class c is a bright 6x6 patch in quadrant c over uniform noise: easy, but only learnable by the convs. */
function syntheticSplit(
  count: number,
  rng: Random,
): { images: Uint8Array; labels: Uint8Array; count: number } {
  const [h, w, c] = SHAPE;
  const images = new Uint8Array(count * h * w * c);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = rng.nextInt(CLASSES);
    labels[n] = label;
    const [top, left] = [(label >> 1) * 6, (label & 1) * 6];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const inPatch = y >= top && y < top + 6 && x >= left && x < left + 6;
          images[((n * h + y) * w + x) * c + k] = Math.min(
            255,
            rng.nextInt(120) + (inPatch ? 110 : 0),
          );
        }
  }
  return { images, labels, count };
}

async function run(): Promise<unknown> {
  setWasmPaths(new URL('wasm/', location.href).href);
  const backend = await initBackend('wasm');
  const model = tf.sequential({
    layers: [
      new DynamicConv2D({
        inputShape: [...SHAPE],
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        sparsity: 0.8,
        seed: 1,
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      new DynamicConv2D({ filters: 16, kernelSize: 3, activation: 'relu', sparsity: 0.8, seed: 2 }),
      tf.layers.flatten(),
      new DynamicDense({ units: CLASSES, activation: 'softmax', sparsity: 0.8, seed: 3 }),
    ],
  });
  const layers = maskedLayers(model);
  const masksBefore = layers.map((l) => Array.from(l.getMask()));
  const nnzBefore = layers.map((l) => l.nnz);
  const rng = new Random(7);
  const trainer = new SparseTrainer(
    model,
    // The paper's doubling periods (100, 200, 400, 800) scaled down to a 300-step run: 16 rewirings.
    new DSR({ schedule: new DoublingSchedule([10, 20, 40, 80]) }),
    { rng: new Random(8) },
  );
  // Every mask update: each layer's mask holds exactly the nnz the record states, the total never changes.
  const updates: { reported: number[]; counted: number[]; total: number }[] = [];
  const result = await train({
    model,
    train: syntheticSplit(1600, rng),
    validation: syntheticSplit(200, rng),
    inputShape: SHAPE,
    epochs: 3,
    batchSize: 16,
    learningRate: 3e-3,
    seed: 9,
    hooks: [trainer],
    callbacks: {
      onSparsity: (record) => {
        const counted = layers.map((l) => l.getMask().reduce((a, b) => a + b, 0));
        updates.push({
          reported: record.layers.map((l) => l.nnz),
          counted,
          total: counted.reduce((a, b) => a + b, 0),
        });
      },
    },
  });
  const masksAfter = layers.map((l) => Array.from(l.getMask()));
  const zerosHold = layers.every((l) => {
    const mask = l.getMask();
    return l.getKernel().every((v, i) => mask[i] === 1 || v === 0);
  });
  return {
    backend: backend.tfjsBackend,
    trainingKernels: backend.trainingKernels,
    steps: result.steps,
    epochs: result.epochs.map((e) => ({ trainLoss: e.trainLoss, valAcc: e.valAcc })),
    nnzBefore,
    nnzAfter: layers.map((l) => l.nnz),
    moved: masksBefore.map((m, l) => m.filter((v, i) => v !== masksAfter[l]![i]).length),
    updates,
    prunedTotal: trainer.records.reduce((a, r) => a + ((r['prunedCount'] as number) ?? 0), 0),
    zerosHold,
  };
}

const w = window as unknown as { result?: unknown };
run().then(
  (r) => (w.result = r),
  (error: unknown) => (w.result = { error: String((error as Error).stack ?? error) }),
);
