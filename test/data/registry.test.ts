// The dataset registry: an explicit table, lookups by name, and an error that lists the valid names.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  datasetNames,
  datasets,
  getDataset,
  isDatasetName,
  loadDataset,
} from '../../src/data/registry.js';
import { UnknownNameError } from '../../src/errors.js';
import { writeCifarFolder, writeIdxFolder } from './fixtures.js';

describe('dataset registry', () => {
  it('lists cifar10, fashion-mnist and mnist with their shapes', () => {
    expect(datasetNames()).toEqual(['cifar10', 'fashion-mnist', 'mnist']);
    expect(getDataset('cifar10').inputShape).toEqual([32, 32, 3]);
    expect(getDataset('mnist').inputShape).toEqual([28, 28, 1]);
    expect(getDataset('fashion-mnist').labelNames[9]).toBe('Ankle boot');
    for (const name of datasetNames()) {
      expect(datasets[name].name).toBe(name);
      expect(datasets[name].labelNames).toHaveLength(datasets[name].numClasses);
    }
    expect(isDatasetName('mnist')).toBe(true);
    expect(isDatasetName('toString')).toBe(false);
  });

  it('throws UnknownNameError listing the valid names, before touching the disk', async () => {
    expect(() => getDataset('imagenet')).toThrow(UnknownNameError);
    expect(() => getDataset('constructor')).toThrow(UnknownNameError);
    const load = loadDataset('imagenet');
    await expect(load).rejects.toThrow(UnknownNameError);
    await expect(load).rejects.toThrow(
      /Unknown dataset "imagenet". Valid choices: cifar10, fashion-mnist, mnist\./,
    );
  });

  it('loads through the table, and the old datasets.js entry point still works', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-registry-'));
    try {
      await writeCifarFolder(join(dir, 'c'), 2);
      await writeIdxFolder(join(dir, 'm'), 3, 2, { gzip: true });
      const cifar = await loadDataset('cifar10', {
        dataDir: join(dir, 'c'),
        recordsPerFile: 2,
        download: false,
      });
      expect([cifar.name, cifar.train.count, cifar.numClasses]).toEqual(['cifar10', 10, 10]);
      const mnist = await loadDataset('mnist', { dataDir: join(dir, 'm') });
      expect([mnist.name, mnist.train.count, mnist.test.count]).toEqual(['mnist', 3, 2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
