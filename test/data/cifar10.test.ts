// CIFAR-10 loading: layouts, sources, cache reuse, limits, and typed errors for bad or missing files.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/datasets.js';
import { CorruptFileError, DataNotFoundError, UnknownNameError } from '../../src/errors.js';
import { fixturePixel, writeCifarArchive, writeCifarFolder } from './fixtures.js';

const RECORDS = 4;

describe('CIFAR-10 loader', () => {
  let dir: string;
  let cache: string;
  const savedEnv = process.env['DYNAPRUNE_DATA'];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-cifar-'));
    cache = join(dir, 'cache');
    delete process.env['DYNAPRUNE_DATA'];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    if (savedEnv === undefined) delete process.env['DYNAPRUNE_DATA'];
    else process.env['DYNAPRUNE_DATA'] = savedEnv;
  });

  it('reads a folder and converts planar RGB records to NHWC', async () => {
    await writeCifarFolder(dir, RECORDS);
    const data = await loadDataset('cifar10', {
      dataDir: dir,
      cacheDir: cache,
      recordsPerFile: RECORDS,
      download: false,
    });
    expect(data.train.count).toBe(5 * RECORDS);
    expect(data.test.count).toBe(RECORDS);
    expect(data.inputShape).toEqual([32, 32, 3]);
    expect(data.labelNames[3]).toBe('cat');
    // Training image 6 is record 2 of data_batch_2; check a few pixels in each channel.
    for (const [y, x, c] of [
      [0, 0, 0],
      [5, 17, 1],
      [31, 31, 2],
    ] as const) {
      expect(data.train.images[6 * 3072 + (y * 32 + x) * 3 + c]).toBe(fixturePixel(6, c, y, x));
    }
    expect(data.train.labels[6]).toBe(6);
    expect(data.test.labels[1]).toBe(1001 % 10);
    expect(data.source.verified).toBe(false);
  });

  it('reads the cifar-10-batches-bin folder itself, and takes the first N images with limits', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    const data = await loadDataset('cifar10', {
      dataDir: folder,
      cacheDir: cache,
      recordsPerFile: RECORDS,
      trainLimit: 6,
      testLimit: 3,
    });
    expect(data.train.count).toBe(6);
    expect(data.train.images.length).toBe(6 * 3072);
    expect(data.test.count).toBe(3);
    expect(data.train.labels[5]).toBe(5);
  });

  it('extracts a .tar.gz once into the cache, and reuses the extraction', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const first = await loadDataset('cifar10', {
      dataDir: archive,
      cacheDir: cache,
      recordsPerFile: RECORDS,
    });
    expect(first.train.count).toBe(5 * RECORDS);
    const digest = createHash('sha256')
      .update(await readFile(archive))
      .digest('hex');
    expect(first.source.checksum).toBe(`sha256 ${digest}`);
    const extracted = await readdir(cache);
    expect(extracted).toEqual([`cifar10-${digest.slice(0, 16)}`]);
    // The second load finds the archive through its folder; the extraction keyed by its hash is reused.
    const second = await loadDataset('cifar10', {
      dataDir: dir,
      cacheDir: cache,
      recordsPerFile: RECORDS,
    });
    expect(second.train.images).toEqual(first.train.images);
    expect(await readdir(cache)).toEqual(extracted);
  });

  it('accepts an archive whose checksum the caller vouches for as verified', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const md5 = createHash('md5')
      .update(await readFile(archive))
      .digest('hex');
    const data = await loadDataset('cifar10', {
      dataDir: archive,
      cacheDir: cache,
      recordsPerFile: RECORDS,
      knownChecksums: [{ algorithm: 'md5', hex: md5 }],
    });
    expect(data.source.verified).toBe(true);
  });

  it('uses $DYNAPRUNE_DATA when no --data-dir is given', async () => {
    await writeCifarFolder(dir, RECORDS);
    process.env['DYNAPRUNE_DATA'] = dir;
    const data = await loadDataset('cifar10', {
      cacheDir: cache,
      recordsPerFile: RECORDS,
      download: false,
    });
    expect(data.test.count).toBe(RECORDS);
  });

  it('names the file and the expected size when a batch file is truncated', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    await truncate(join(folder, 'data_batch_3.bin'), RECORDS * 3073 - 100);
    const load = loadDataset('cifar10', { dataDir: dir, cacheDir: cache, recordsPerFile: RECORDS });
    await expect(load).rejects.toThrow(CorruptFileError);
    await expect(load).rejects.toThrow(/data_batch_3\.bin.*12192 bytes; expected 12292/);
  });

  it('expects 30,730,000-byte files by default, as in the official archive', async () => {
    await writeCifarFolder(dir, RECORDS);
    await expect(loadDataset('cifar10', { dataDir: dir, cacheDir: cache })).rejects.toThrow(
      /expected 30730000/,
    );
  });

  it('rejects a label outside 0-9', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    const bytes = await readFile(join(folder, 'test_batch.bin'));
    bytes[3073] = 12;
    await writeFile(join(folder, 'test_batch.bin'), bytes);
    await expect(
      loadDataset('cifar10', { dataDir: dir, cacheDir: cache, recordsPerFile: RECORDS }),
    ).rejects.toThrow(/test_batch\.bin: record 1 has label 12/);
  });

  it('rejects a .tar.gz that is not an archive, and a folder without data', async () => {
    const bogus = join(dir, 'cifar-10-binary.tar.gz');
    await writeFile(bogus, 'not a tarball');
    await expect(loadDataset('cifar10', { dataDir: bogus, cacheDir: cache })).rejects.toThrow(
      CorruptFileError,
    );
    await expect(
      loadDataset('cifar10', { dataDir: join(dir, 'missing'), cacheDir: cache }),
    ).rejects.toThrow(DataNotFoundError);
    await expect(
      loadDataset('cifar10', { dataDir: dir, cacheDir: cache, download: false }),
    ).rejects.toThrow(CorruptFileError);
  });

  it('explains how to use a local copy when nothing is cached and downloads are off', async () => {
    const load = loadDataset('cifar10', { cacheDir: cache, download: false });
    await expect(load).rejects.toThrow(DataNotFoundError);
    await expect(load).rejects.toThrow(/--data-dir.*DYNAPRUNE_DATA/);
  });

  it('lists the valid datasets for an unknown name', async () => {
    await expect(loadDataset('imagenet')).rejects.toThrow(UnknownNameError);
    await expect(loadDataset('imagenet')).rejects.toThrow(/cifar10, fashion-mnist, mnist/);
  });
});
