// The real datasets beside the project: CIFAR-10 from ../shared/data, Fashion-MNIST from Debian's package.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { FASHION_MNIST_SYSTEM_DIR, loadFashionMnist } from '../../src/data/mnist.js';
import { defaultCacheDir } from '../../src/data/paths.js';
import type { ImageSplit } from '../../src/data/types.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
const haveFashion = existsSync(join(FASHION_MNIST_SYSTEM_DIR, 'train-images-idx3-ubyte.gz'));
if (!haveCifar) console.warn(`SKIPPED real CIFAR-10 test: ${CIFAR} is absent.`);
if (!haveFashion) {
  console.warn(
    `SKIPPED real Fashion-MNIST test: ${FASHION_MNIST_SYSTEM_DIR} is absent ` +
      '(apt-get install dataset-fashion-mnist).',
  );
}

function perClass(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label]!++;
  return counts;
}

/** Mean byte value of each channel over a split. */
function channelMeans(split: ImageSplit, channels: number): number[] {
  const sums = new Array<number>(channels).fill(0);
  for (let i = 0; i < split.images.length; i++) sums[i % channels]! += split.images[i]!;
  return sums.map((s) => s / (split.images.length / channels));
}

describe('real data', () => {
  // The extraction goes to the user's cache (outside the repository) and is reused by later runs.
  it.skipIf(!haveCifar)(
    'CIFAR-10: 50,000 + 10,000 images, 1,000 test images per class, verified, channels in order',
    async () => {
      const data = await loadCifar10({
        dataDir: CIFAR,
        cacheDir: defaultCacheDir(),
        download: false,
      });
      expect(data.train.count).toBe(50000);
      expect(data.test.count).toBe(10000);
      expect(data.train.images.length).toBe(50000 * 3072);
      expect(data.source.verified).toBe(true);
      expect(data.source.matched).toBe('rebuilt copy (shared/data/cifar10)');
      expect(perClass(data.test.labels)).toEqual(new Array<number>(10).fill(1000));
      expect(perClass(data.train.labels)).toEqual(new Array<number>(10).fill(5000));
      expect(data.labelNames).toEqual([
        'airplane',
        'automobile',
        'bird',
        'cat',
        'deer',
        'dog',
        'frog',
        'horse',
        'ship',
        'truck',
      ]);
      // The widely published training-set channel means (0.4914, 0.4822, 0.4465) x 255: a planar-to-NHWC
      // mistake would swap or mix them.
      const means = channelMeans(data.train, 3);
      expect(means[0]).toBeCloseTo(125.31, 1);
      expect(means[1]).toBeCloseTo(122.95, 1);
      expect(means[2]).toBeCloseTo(113.87, 1);
    },
  );

  it.skipIf(!haveFashion)(
    'Fashion-MNIST: 60,000 + 10,000 images of 28x28, balanced classes',
    async () => {
      const data = await loadFashionMnist({ dataDir: FASHION_MNIST_SYSTEM_DIR });
      expect(data.train.count).toBe(60000);
      expect(data.test.count).toBe(10000);
      expect(data.inputShape).toEqual([28, 28, 1]);
      expect(perClass(data.train.labels)).toEqual(new Array<number>(10).fill(6000));
      expect(perClass(data.test.labels)).toEqual(new Array<number>(10).fill(1000));
      // Published training-set mean 0.2860 x 255.
      expect(channelMeans(data.train, 1)[0]).toBeCloseTo(72.94, 1);
    },
  );
});
