// The real datasets beside the project: CIFAR-10 from ../shared/data, Fashion-MNIST from Debian's package.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEFAULT_DIR, loadDataset } from '../../src/data/datasets.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
const haveFashion = existsSync(join(FASHION_MNIST_DEFAULT_DIR, 'train-images-idx3-ubyte.gz'));
if (!haveCifar) console.warn(`SKIPPED real CIFAR-10 test: ${CIFAR} is absent.`);
if (!haveFashion)
  console.warn(`SKIPPED real Fashion-MNIST test: ${FASHION_MNIST_DEFAULT_DIR} is absent.`);

describe('real data', () => {
  it.skipIf(!haveCifar)(
    'CIFAR-10: 50,000 + 10,000 images, 1,000 test images per class, verified',
    async () => {
      const data = await loadDataset('cifar10', { dataDir: CIFAR, download: false });
      expect(data.train.count).toBe(50000);
      expect(data.test.count).toBe(10000);
      expect(data.source.verified).toBe(true);
      const perClass = new Array<number>(10).fill(0);
      for (const label of data.test.labels) perClass[label]!++;
      expect(perClass).toEqual(new Array<number>(10).fill(1000));
      const trainPerClass = new Array<number>(10).fill(0);
      for (const label of data.train.labels) trainPerClass[label]!++;
      expect(trainPerClass).toEqual(new Array<number>(10).fill(5000));
    },
  );

  it.skipIf(!haveFashion)('Fashion-MNIST: 60,000 + 10,000 images of 28x28', async () => {
    const data = await loadDataset('fashion-mnist');
    expect(data.train.count).toBe(60000);
    expect(data.test.count).toBe(10000);
    expect(data.inputShape).toEqual([28, 28, 1]);
  });
});
