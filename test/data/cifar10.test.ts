// CIFAR-10 batch files: planar RGB to NHWC, limits, label names, and typed errors for bad or missing files.
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCifar10, readCifar10Folder } from '../../src/data/cifar10.js';
import { decodeRecords, recordsInBatchFile } from '../../src/data/cifar10-format.js';
import { CorruptFileError, DataNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import { FIRST_TEST_IMAGE, fixtureLabel, fixturePixel, writeCifarFolder } from './fixtures.js';

const RECORDS = 4;

describe('CIFAR-10 batch files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-cifar-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns a record of three colour planes into interleaved NHWC pixels', () => {
    const record = new Uint8Array(3073);
    record[0] = 7;
    record.fill(255, 1, 1025); // red plane
    record.fill(128, 2049, 3073); // blue plane; green stays 0
    record[1 + 32 * 2 + 5] = 9; // red at y=2, x=5
    record[1025 + 32 * 31 + 31] = 77; // green at y=31, x=31
    const images = new Uint8Array(2 * 3072);
    const labels = new Uint8Array(2);
    decodeRecords('mem', record, 1, images, labels, 1);
    expect(labels[1]).toBe(7);
    expect(Array.from(images.subarray(3072, 3072 + 3))).toEqual([255, 0, 128]);
    expect(
      Array.from(images.subarray(3072 + (2 * 32 + 5) * 3, 3072 + (2 * 32 + 5) * 3 + 3)),
    ).toEqual([9, 0, 128]);
    expect(Array.from(images.subarray(6144 - 3))).toEqual([255, 77, 128]);
    // Image 0 was not written.
    expect(images.subarray(0, 3072).every((v) => v === 0)).toBe(true);
  });

  it('reads every split in order, with pixels where the planar layout put them', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    const data = await readCifar10Folder(folder, { recordsPerFile: RECORDS });
    expect(data.train.count).toBe(5 * RECORDS);
    expect(data.train.images.length).toBe(5 * RECORDS * 3072);
    expect(data.test.count).toBe(RECORDS);
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
    for (let i = 0; i < 5 * RECORDS; i++) expect(data.train.labels[i]).toBe(fixtureLabel(i));
    // Image 6 is record 2 of data_batch_2; image 19 the last record of data_batch_5.
    for (const image of [0, 6, 19]) {
      for (const [y, x, c] of [
        [0, 0, 0],
        [0, 1, 1],
        [5, 17, 1],
        [31, 0, 2],
        [31, 31, 2],
      ] as const) {
        expect(data.train.images[image * 3072 + (y * 32 + x) * 3 + c]).toBe(
          fixturePixel(image, c, y, x),
        );
      }
    }
    expect(data.test.labels[1]).toBe(fixtureLabel(FIRST_TEST_IMAGE + 1));
    expect(data.test.images[3072 + (3 * 32 + 4) * 3 + 2]).toBe(
      fixturePixel(FIRST_TEST_IMAGE + 1, 2, 3, 4),
    );
  });

  it('takes the first N examples with trainLimit and testLimit, across file boundaries', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    const full = await readCifar10Folder(folder, { recordsPerFile: RECORDS });
    const data = await readCifar10Folder(folder, {
      recordsPerFile: RECORDS,
      trainLimit: 6,
      testLimit: 3,
    });
    expect(data.train.count).toBe(6);
    expect(data.train.images).toEqual(full.train.images.subarray(0, 6 * 3072));
    expect(data.train.labels).toEqual(full.train.labels.subarray(0, 6));
    expect(data.test.count).toBe(3);
    const none = await readCifar10Folder(folder, { recordsPerFile: RECORDS, trainLimit: 0 });
    expect(none.train.count).toBe(0);
    expect(none.train.images.length).toBe(0);
    const more = await readCifar10Folder(folder, { recordsPerFile: RECORDS, trainLimit: 1000 });
    expect(more.train.count).toBe(5 * RECORDS);
    await expect(
      readCifar10Folder(folder, { recordsPerFile: RECORDS, trainLimit: -1 }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      readCifar10Folder(folder, { recordsPerFile: RECORDS, testLimit: 2.5 }),
    ).rejects.toThrow(/testLimit must be a non-negative integer/);
  });

  it("accepts any whole number of records per file with recordsPerFile: 'any'", async () => {
    const folder = await writeCifarFolder(dir, 3);
    const data = await readCifar10Folder(folder, { recordsPerFile: 'any' });
    expect(data.train.count).toBe(15);
    await truncate(join(folder, 'data_batch_1.bin'), 3073 * 2 + 1);
    await expect(readCifar10Folder(folder, { recordsPerFile: 'any' })).rejects.toThrow(
      /data_batch_1\.bin: has 6147 bytes; expected a positive multiple of 3073/,
    );
  });

  it('names the file and the expected size when a batch file is truncated', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    await truncate(join(folder, 'data_batch_3.bin'), RECORDS * 3073 - 100);
    const load = readCifar10Folder(folder, { recordsPerFile: RECORDS });
    await expect(load).rejects.toThrow(CorruptFileError);
    await expect(load).rejects.toThrow(
      /data_batch_3\.bin: has 12192 bytes; expected 12292 \(4 records of 3073 bytes\).*truncated/,
    );
    const error = await load.catch((e: unknown) => e);
    expect((error as CorruptFileError).file).toBe(join(folder, 'data_batch_3.bin'));
  });

  it('expects 30,730,000-byte files by default, as in the official archive', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    await expect(readCifar10Folder(folder)).rejects.toThrow(
      /data_batch_1\.bin: has 12292 bytes; expected 30730000 \(10000 records/,
    );
    expect(recordsInBatchFile('f', 30_730_000, 10000)).toBe(10000);
    expect(() => recordsInBatchFile('f', 30_730_001, 10000)).toThrow(/not a CIFAR-10 binary batch/);
    expect(() => recordsInBatchFile('f', 0, 'any')).toThrow(CorruptFileError);
  });

  it('rejects a label byte outside 0-9, naming the file and the record', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    const bytes = await readFile(join(folder, 'test_batch.bin'));
    bytes[3073] = 12;
    await writeFile(join(folder, 'test_batch.bin'), bytes);
    await expect(readCifar10Folder(folder, { recordsPerFile: RECORDS })).rejects.toThrow(
      /test_batch\.bin: record 1 \(byte offset 3073\) has label 12; CIFAR-10 labels are 0 to 9/,
    );
  });

  it('reports a missing batch file by name', async () => {
    const folder = await writeCifarFolder(dir, RECORDS);
    await rm(join(folder, 'data_batch_4.bin'));
    const load = readCifar10Folder(folder, { recordsPerFile: RECORDS });
    await expect(load).rejects.toThrow(DataNotFoundError);
    await expect(load).rejects.toThrow(/data_batch_4\.bin is missing/);
  });

  it('reads class names from batches.meta.txt, falls back without it, and rejects a bad one', async () => {
    const folder = await writeCifarFolder(dir, RECORDS, { meta: false });
    expect((await readCifar10Folder(folder, { recordsPerFile: RECORDS })).labelNames[9]).toBe(
      'truck',
    );
    const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    await writeFile(join(folder, 'batches.meta.txt'), names.join('\r\n') + '\r\n\r\n');
    expect((await readCifar10Folder(folder, { recordsPerFile: RECORDS })).labelNames).toEqual(
      names,
    );
    await writeFile(join(folder, 'batches.meta.txt'), 'a\nb\n');
    await expect(readCifar10Folder(folder, { recordsPerFile: RECORDS })).rejects.toThrow(
      /batches\.meta\.txt: lists 2 class names; expected 10/,
    );
  });

  it('returns the dataset shape and a folder source through loadCifar10', async () => {
    await writeCifarFolder(dir, RECORDS);
    const data = await loadCifar10({
      dataDir: dir,
      cacheDir: join(dir, 'cache'),
      recordsPerFile: RECORDS,
      download: false,
    });
    expect(data.name).toBe('cifar10');
    expect(data.inputShape).toEqual([32, 32, 3]);
    expect(data.numClasses).toBe(10);
    expect(data.source).toEqual({
      origin: 'data-dir',
      path: join(dir, 'cifar-10-batches-bin'),
      verified: false,
    });
  });

  it('checks limits before looking for data', async () => {
    await mkdir(join(dir, 'empty'));
    await expect(
      loadCifar10({ dataDir: join(dir, 'empty'), trainLimit: -3, download: false }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
