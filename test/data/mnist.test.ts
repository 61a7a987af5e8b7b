// MNIST and Fashion-MNIST loaders: file names, sources, limits, and typed errors for missing or mismatched files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFashionMnist, loadMnist, readIdxFolder } from '../../src/data/mnist.js';
import { CorruptFileError, DataNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import { idxBytes, idxPixel, writeIdxFolder } from './fixtures.js';

const ENV_KEYS = ['DYNAPRUNE_DATA', 'DYNAPRUNE_CACHE'] as const;

describe('MNIST-format datasets', () => {
  let dir: string;
  let cache: string;
  const saved = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-mnist-'));
    cache = join(dir, 'cache');
    for (const k of ENV_KEYS) delete process.env[k];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('reads gzipped, raw and dotted file names alike, as NHWC with one channel', async () => {
    for (const variant of [
      { gzip: true },
      { gzip: false },
      { gzip: true, dotted: true },
    ] as const) {
      const folder = join(dir, JSON.stringify(variant).replace(/\W/g, ''));
      await writeIdxFolder(folder, 12, 5, variant);
      const data = await loadFashionMnist({ dataDir: folder, cacheDir: cache });
      expect(data.name).toBe('fashion-mnist');
      expect(data.inputShape).toEqual([28, 28, 1]);
      expect(data.train.count).toBe(12);
      expect(data.train.images.length).toBe(12 * 784);
      expect(data.test.count).toBe(5);
      expect(data.train.images[3 * 784 + 100]).toBe(idxPixel(3, 100));
      expect(data.test.images[4 * 784 + 783]).toBe(idxPixel(4, 783));
      expect(Array.from(data.train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      expect(data.labelNames[0]).toBe('T-shirt/top');
      expect(data.labelNames[9]).toBe('Ankle boot');
      expect(data.source).toEqual({ origin: 'data-dir', path: folder, verified: false });
    }
  });

  it('takes the first N examples, as standalone arrays', async () => {
    await writeIdxFolder(dir, 12, 5, { gzip: false });
    const data = await loadMnist({ dataDir: dir, trainLimit: 4, testLimit: 0, cacheDir: cache });
    expect(data.train.count).toBe(4);
    expect(data.train.images.length).toBe(4 * 784);
    expect(data.train.images.byteOffset).toBe(0);
    expect(data.train.images.buffer.byteLength).toBe(4 * 784);
    expect(data.test.count).toBe(0);
    expect(data.labelNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    await expect(loadMnist({ dataDir: dir, trainLimit: -1 })).rejects.toThrow(InvalidArgumentError);
  });

  it('finds files in $DYNAPRUNE_DATA, in a dataset-named subfolder of it, and in the cache', async () => {
    await writeIdxFolder(join(dir, 'root', 'mnist'), 3, 2, { gzip: true });
    process.env['DYNAPRUNE_DATA'] = join(dir, 'root');
    const fromEnv = await loadMnist({ cacheDir: cache });
    expect(fromEnv.source).toMatchObject({ origin: 'env', path: join(dir, 'root', 'mnist') });

    process.env['DYNAPRUNE_DATA'] = join(dir, 'root', 'mnist');
    expect((await loadMnist({ cacheDir: cache })).source.origin).toBe('env');

    delete process.env['DYNAPRUNE_DATA'];
    await writeIdxFolder(join(cache, 'mnist'), 3, 2, { gzip: false });
    const cached = await loadMnist({ cacheDir: cache });
    expect(cached.source).toMatchObject({ origin: 'cache', path: join(cache, 'mnist') });
  });

  it('says where to put MNIST files when there are none, since there is no download', async () => {
    const load = loadMnist({ cacheDir: cache });
    await expect(load).rejects.toThrow(DataNotFoundError);
    await expect(load).rejects.toThrow(
      /MNIST was not found \(looked in .*cache\/mnist\).*cannot be downloaded.*train-images-idx3-ubyte\(\.gz\).*--data-dir PATH or DYNAPRUNE_DATA=PATH/,
    );
    const flag = loadMnist({ dataDir: join(dir, 'nowhere'), cacheDir: cache });
    await expect(flag).rejects.toThrow(/looked in --data-dir .*nowhere/);
    process.env['DYNAPRUNE_DATA'] = join(dir, 'typo');
    await expect(loadMnist({ cacheDir: cache })).rejects.toThrow(
      /DYNAPRUNE_DATA=.*typo does not exist/,
    );
  });

  it('names a missing file', async () => {
    await writeIdxFolder(dir, 4, 2, { gzip: false });
    await rm(join(dir, 't10k-labels-idx1-ubyte'));
    await expect(loadMnist({ dataDir: dir, cacheDir: cache })).rejects.toThrow(
      /t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) is missing/,
    );
  });

  it('rejects images and labels that disagree, bad ranks, out-of-range labels and wrong sizes', async () => {
    await writeIdxFolder(dir, 4, 2, { gzip: false });
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([3], new Uint8Array(3)));
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(
      /holds 3 labels but .* holds 2 images/,
    );

    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([2, 1], new Uint8Array(2)));
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(/a label file has one: \[N\]/);

    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([2], new Uint8Array([3, 10])));
    const badLabel = loadMnist({ dataDir: dir });
    await expect(badLabel).rejects.toThrow(CorruptFileError);
    await expect(badLabel).rejects.toThrow(/label 10 at index 1 is out of range; expected 0 to 9/);

    const small = join(dir, 'small');
    await writeIdxFolder(small, 2, 2, { gzip: false, side: 16 });
    await expect(loadMnist({ dataDir: small })).rejects.toThrow(
      /holds 16x16 images; MNIST images are 28x28/,
    );
    // The generic reader accepts any size, as long as both splits agree.
    expect((await readIdxFolder(small)).inputShape).toEqual([16, 16, 1]);
    await mkdir(join(dir, 'mixed'));
    await writeIdxFolder(join(dir, 'mixed'), 2, 2, { gzip: false, side: 16 });
    await writeFile(
      join(dir, 'mixed', 't10k-images-idx3-ubyte'),
      idxBytes([2, 8, 8], new Uint8Array(128)),
    );
    await expect(readIdxFolder(join(dir, 'mixed'))).rejects.toThrow(
      /training images are 16x16 but test images are 8x8/,
    );
  });
});
