// IDX files (MNIST format): raw and gzip round trips, big-endian sizes, typed errors for corrupt headers and sizes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdx, readIdxFile } from '../../src/data/idx.js';
import { CorruptFileError } from '../../src/errors.js';
import { idxBytes } from './fixtures.js';

describe('IDX reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-idx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips raw and gzipped files, in memory and on disk', async () => {
    const data = new Uint8Array(2 * 3 * 4).map((_, i) => i * 3);
    const raw = idxBytes([2, 3, 4], data);
    for (const [name, bytes] of [
      ['raw.idx', raw],
      ['gz.idx', gzipSync(raw)],
    ] as const) {
      const parsed = parseIdx(bytes);
      expect(parsed.dims).toEqual([2, 3, 4]);
      expect(Array.from(parsed.data)).toEqual(Array.from(data));
      await writeFile(join(dir, name), bytes);
      const fromDisk = await readIdxFile(join(dir, name));
      expect(fromDisk.dims).toEqual([2, 3, 4]);
      expect(Array.from(fromDisk.data)).toEqual(Array.from(data));
    }
  });

  it('reads dimensions as big-endian 32-bit integers', () => {
    // 300 = 0x0000012c: a little-endian reader would see 0x2c010000.
    const labels = new Uint8Array(300).map((_, i) => i % 10);
    const bytes = idxBytes([300], labels);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 8, 1, 0, 0, 1, 0x2c]);
    const parsed = parseIdx(bytes);
    expect(parsed.dims).toEqual([300]);
    expect(parsed.data[299]).toBe(9);
  });

  it('rejects corrupt headers with CorruptFileError naming the file', () => {
    const good = idxBytes([2, 2], new Uint8Array(4));
    const badMagic = Uint8Array.from(good);
    badMagic[0] = 1;
    const floats = Uint8Array.from(good);
    floats[2] = 0x0d;
    const rankZero = Uint8Array.from(good);
    rankZero[3] = 0;
    expect(() => parseIdx(badMagic, 'm.idx')).toThrow(CorruptFileError);
    expect(() => parseIdx(badMagic, 'm.idx')).toThrow(/^m\.idx: does not start with the IDX magic/);
    expect(() => parseIdx(floats, 'f')).toThrow(/element type 0x0d; expected 0x08/);
    expect(() => parseIdx(rankZero, 'r')).toThrow(/declares 0 dimensions/);
    expect(() => parseIdx(good.subarray(0, 3), 's')).toThrow(/has 3 bytes; an IDX header needs/);
    expect(() => parseIdx(good.subarray(0, 6), 'h')).toThrow(
      /declares 2 dimensions and needs 12 bytes; the file has 6/,
    );
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2]), 'g')).toThrow(/is not valid gzip/);
  });

  it('rejects a size mismatch before trusting the declared dimensions', () => {
    const good = idxBytes([2, 2], new Uint8Array(4));
    expect(() => parseIdx(good.subarray(0, good.length - 1), 't')).toThrow(
      /declares dimensions 2x2 \(16 bytes with the header\) but has 15 bytes.*truncated/,
    );
    expect(() => parseIdx(new Uint8Array([...good, 7]), 'x')).toThrow(/but has 17 bytes.*corrupt/);
    // Dimensions whose product is huge must not be allocated: the length check comes first.
    const huge = idxBytes([0xffffffff, 0xffffffff, 0xffffffff], new Uint8Array(0));
    expect(() => parseIdx(huge, 'huge')).toThrow(CorruptFileError);
  });

  it('caps what a gzip stream may decompress to', async () => {
    const raw = idxBytes([1000], new Uint8Array(1000));
    expect(() => parseIdx(gzipSync(raw), 'bomb', { maxBytes: 500 })).toThrow(
      /decompresses to more than 500 bytes/,
    );
    await writeFile(join(dir, 'bomb.gz'), gzipSync(raw));
    await expect(readIdxFile(join(dir, 'bomb.gz'), { maxBytes: 500 })).rejects.toThrow(
      /decompresses to more than 500 bytes/,
    );
    await writeFile(join(dir, 'big.idx'), raw);
    await expect(readIdxFile(join(dir, 'big.idx'), { maxBytes: 500 })).rejects.toThrow(
      /more than maxBytes/,
    );
  });
});
