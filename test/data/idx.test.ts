// IDX files (MNIST format): raw and gzip, and typed errors for corrupt headers and sizes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/datasets.js';
import { parseIdx } from '../../src/data/idx.js';
import { CorruptFileError, DataNotFoundError } from '../../src/errors.js';
import { idxBytes, writeIdxFolder } from './fixtures.js';

describe('IDX reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-idx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses raw and gzipped files identically', () => {
    const data = new Uint8Array(2 * 3 * 4).map((_, i) => i * 3);
    const raw = idxBytes([2, 3, 4], data);
    for (const bytes of [raw, gzipSync(raw)]) {
      const parsed = parseIdx(bytes);
      expect(parsed.dims).toEqual([2, 3, 4]);
      expect(Array.from(parsed.data)).toEqual(Array.from(data));
    }
  });

  it('rejects bad magic, other element types, truncation and trailing bytes', () => {
    const good = idxBytes([2, 2], new Uint8Array(4));
    const badMagic = Uint8Array.from(good);
    badMagic[0] = 1;
    const floats = Uint8Array.from(good);
    floats[2] = 0x0d;
    expect(() => parseIdx(badMagic, 'm')).toThrow(/IDX magic/);
    expect(() => parseIdx(floats, 'f')).toThrow(/type 0xd/);
    expect(() => parseIdx(good.subarray(0, good.length - 1), 't')).toThrow(CorruptFileError);
    expect(() => parseIdx(new Uint8Array([...good, 7]), 'x')).toThrow(/declares dimensions 2x2/);
    expect(() => parseIdx(good.subarray(0, 6), 'h')).toThrow(/header needs 12 bytes/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2]), 'g')).toThrow(/not valid gzip/);
  });

  it('loads a Fashion-MNIST-style folder through the dataset registry', async () => {
    for (const gzip of [true, false]) {
      const folder = join(dir, gzip ? 'gz' : 'raw');
      await writeIdxFolder(folder, 12, 5, gzip);
      const data = await loadDataset('fashion-mnist', { dataDir: folder, trainLimit: 10 });
      expect(data.inputShape).toEqual([28, 28, 1]);
      expect(data.train.count).toBe(10);
      expect(data.test.count).toBe(5);
      expect(data.train.images[784 + 5]).toBe((784 + 5) % 251);
      expect(data.labelNames[9]).toBe('Ankle boot');
    }
  });

  it('names the missing files and where to put them', async () => {
    await expect(loadDataset('mnist', { dataDir: join(dir, 'nowhere') })).rejects.toThrow(
      DataNotFoundError,
    );
    const half = join(dir, 'half');
    await writeIdxFolder(half, 4, 2, false);
    await writeFile(join(half, 't10k-labels-idx1-ubyte'), idxBytes([3], new Uint8Array(3)));
    await expect(loadDataset('mnist', { dataDir: half })).rejects.toThrow(/do not match/);
  });
});
