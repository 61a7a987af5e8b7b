// Child process of threads.test.ts: trains a few steps on the wasm backend with the given thread count, once
// with the masked layers on the dense kernels and once on the sparse kernels, and prints the backend's
// thread count and a SHA-256 of each final weight's float32 bytes as one JSON line.
import { createHash } from 'node:crypto';
import { randomImages } from '../../bench/lib/random-images.js';
import { initBackend } from '../../src/engine/backend.js';
import { getModel } from '../../src/models/registry.js';
import { sparsify } from '../../src/sparsity/sparsify.js';
import { train } from '../../src/train/trainer.js';

const threads = Number(process.argv[2]);
const backend = await initBackend('wasm', { threads });
const count = 16 * 3;
const { images, labels } = randomImages(count);

async function trainedWeights(kernels: 'dense' | 'sparse'): Promise<string[]> {
  // Width 1 keeps it quick; BatchNorm, 3x3 convs, pooling and dense layers are all there.
  const dense = getModel('paper-cnn-wide').build({
    inputShape: [32, 32, 3],
    numClasses: 10,
    seed: 1,
    width: 1,
  });
  const { model } = await sparsify(dense, {
    sparsity: 0.5,
    distribution: 'uniform',
    maskInit: 'random',
    seed: 1,
  });
  await train({
    model,
    train: { images, labels, count },
    validation: { images: images.subarray(0, 3072), labels: labels.subarray(0, 1), count: 1 },
    inputShape: [32, 32, 3],
    epochs: 1,
    batchSize: 16,
    learningRate: 1e-3,
    seed: 1,
    kernels,
  });
  const weights = model.getWeights().map((w) => {
    const data = w.dataSync() as Float32Array;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return `${w.shape.join('x')} ${createHash('sha256').update(bytes).digest('hex')}`;
  });
  model.dispose();
  return weights;
}

const dense = await trainedWeights('dense');
const sparse = await trainedWeights('sparse');
process.stdout.write(JSON.stringify({ threads: backend.threads, dense, sparse }) + '\n');
