// Where CIFAR-10 comes from: --data-dir layouts, $DYNAPRUNE_DATA, the cache, one-time extraction, checksums.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCifar10, locateCifar10, type Cifar10Options } from '../../src/data/cifar10.js';
import type { DataProgress } from '../../src/data/types.js';
import { CorruptFileError, DataNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import { fixturePixel, writeCifarArchive, writeCifarFolder } from './fixtures.js';

const RECORDS = 3;
const ENV_KEYS = ['DYNAPRUNE_DATA', 'DYNAPRUNE_CACHE'] as const;

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
const md5 = async (path: string) =>
  createHash('md5')
    .update(await readFile(path))
    .digest('hex');

describe('CIFAR-10 sources', () => {
  let dir: string;
  let cache: string;
  const saved = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));
  /** Options every test shares: the test cache, small files, no network. */
  let base: Cifar10Options;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-sources-'));
    cache = join(dir, 'cache');
    for (const k of ENV_KEYS) delete process.env[k];
    base = { cacheDir: cache, recordsPerFile: RECORDS, download: false };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** Top-level entries of the cache folder, hidden staging folders included. */
  const cacheEntries = async () => (await readdir(cache).catch(() => [] as string[])).sort();

  it('accepts every documented --data-dir layout', async () => {
    const folderRoot = join(dir, 'a');
    const batches = await writeCifarFolder(folderRoot, RECORDS);
    const archiveRoot = join(dir, 'b');
    const archive = await writeCifarArchive(archiveRoot, RECORDS);
    const dataRoot = join(dir, 'c');
    await writeCifarArchive(join(dataRoot, 'cifar10'), RECORDS);

    const cases: [string, string, 'folder' | 'archive'][] = [
      [folderRoot, batches, 'folder'],
      [batches, batches, 'folder'],
      [archive, archive, 'archive'],
      [archiveRoot, archive, 'archive'],
      [dataRoot, join(dataRoot, 'cifar10', 'cifar-10-binary.tar.gz'), 'archive'],
    ];
    for (const [dataDir, path, kind] of cases) {
      const data = await loadCifar10({ ...base, dataDir });
      expect(data.source.origin).toBe('data-dir');
      expect(data.source.path).toBe(path);
      expect(data.train.count).toBe(5 * RECORDS);
      expect(data.train.images[(2 * 32 + 3) * 3 + 1]).toBe(fixturePixel(0, 1, 2, 3));
      expect(data.source.checksum !== undefined).toBe(kind === 'archive');
    }
  });

  it('prefers an extracted folder to the archive beside it', async () => {
    await writeCifarArchive(dir, RECORDS);
    await writeCifarFolder(dir, RECORDS);
    const data = await loadCifar10({ ...base, dataDir: dir });
    expect(data.source.path).toBe(join(dir, 'cifar-10-batches-bin'));
    expect(await cacheEntries()).toEqual([]);
    expect(await locateCifar10(join(dir, 'nothing-here'))).toBeUndefined();
  });

  it('refuses a --data-dir that does not exist or holds no CIFAR-10, saying what it expects', async () => {
    const missing = loadCifar10({ ...base, dataDir: join(dir, 'nope') });
    await expect(missing).rejects.toThrow(DataNotFoundError);
    await expect(missing).rejects.toThrow(/nope does not exist.*cifar-10-batches-bin folder/);
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await expect(loadCifar10({ ...base, dataDir: dir })).rejects.toThrow(/holds no CIFAR-10 data/);
    await expect(loadCifar10({ ...base, dataDir: join(dir, 'notes.txt') })).rejects.toThrow(
      DataNotFoundError,
    );
  });

  it('uses $DYNAPRUNE_DATA when there is no --data-dir, and --data-dir wins over it', async () => {
    await writeCifarFolder(join(dir, 'env'), RECORDS, { seed: 1 });
    await writeCifarFolder(join(dir, 'flag'), RECORDS, { seed: 2 });
    process.env['DYNAPRUNE_DATA'] = join(dir, 'env');
    const fromEnv = await loadCifar10(base);
    expect(fromEnv.source.origin).toBe('env');
    expect(fromEnv.train.images[0]).toBe((fixturePixel(0, 0, 0, 0) + 1) % 256);
    const fromFlag = await loadCifar10({ ...base, dataDir: join(dir, 'flag') });
    expect(fromFlag.source.origin).toBe('data-dir');
    expect(fromFlag.train.images[0]).toBe((fixturePixel(0, 0, 0, 0) + 2) % 256);
  });

  it('treats a missing $DYNAPRUNE_DATA as an error, and one without CIFAR-10 as a data root to pass over', async () => {
    process.env['DYNAPRUNE_DATA'] = join(dir, 'typo');
    await expect(loadCifar10(base)).rejects.toThrow(/DYNAPRUNE_DATA=.*typo does not exist/);
    await mkdir(join(dir, 'other-datasets'));
    process.env['DYNAPRUNE_DATA'] = join(dir, 'other-datasets');
    await writeCifarArchive(cache, RECORDS);
    const data = await loadCifar10(base);
    expect(data.source.origin).toBe('cache');
    expect(data.source.path).toBe(join(cache, 'cifar-10-binary.tar.gz'));
  });

  it('takes the cache folder from $DYNAPRUNE_CACHE by default', async () => {
    await writeCifarArchive(cache, RECORDS);
    process.env['DYNAPRUNE_CACHE'] = cache;
    const data = await loadCifar10({ recordsPerFile: RECORDS, download: false });
    expect(data.source.origin).toBe('cache');
    expect(data.source.path).toBe(join(cache, 'cifar-10-binary.tar.gz'));
  });

  it('extracts an archive once, atomically, keyed by its SHA-256, and reuses the extraction', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const phases: DataProgress['phase'][] = [];
    const onProgress = (p: DataProgress) => phases.push(p.phase);
    const first = await loadCifar10({ ...base, dataDir: archive, onProgress });
    expect(phases).toContain('verify');
    expect(phases).toContain('extract');
    const digest = await sha256(archive);
    expect(first.source.checksum).toEqual({ sha256: digest, md5: await md5(archive) });
    const key = `cifar10-${digest.slice(0, 16)}`;
    expect(await cacheEntries()).toEqual([key]);
    const extracted = join(cache, key, 'cifar-10-batches-bin', 'test_batch.bin');
    const before = await stat(extracted);

    phases.length = 0;
    const second = await loadCifar10({ ...base, dataDir: dir, onProgress });
    expect(phases).not.toContain('extract');
    expect(second.train.images).toEqual(first.train.images);
    expect(await cacheEntries()).toEqual([key]);
    const after = await stat(extracted);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('never reuses a stale extraction for a different archive at the same path', async () => {
    const archive = await writeCifarArchive(dir, RECORDS, { seed: 0 });
    const first = await loadCifar10({ ...base, dataDir: archive });
    await writeCifarArchive(dir, RECORDS, { seed: 5 });
    const second = await loadCifar10({ ...base, dataDir: archive });
    expect(second.source.checksum!.sha256).not.toBe(first.source.checksum!.sha256);
    expect(second.train.images[0]).toBe((first.train.images[0]! + 5) % 256);
    expect((await cacheEntries()).length).toBe(2);
  });

  it('re-extracts when an extraction in the cache was damaged by hand', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const first = await loadCifar10({ ...base, dataDir: archive });
    const key = `cifar10-${first.source.checksum!.sha256.slice(0, 16)}`;
    await rm(join(cache, key, 'cifar-10-batches-bin', 'data_batch_2.bin'));
    const second = await loadCifar10({ ...base, dataDir: archive });
    expect(second.train.images).toEqual(first.train.images);
  });

  it('lets concurrent loads of one archive share a single extraction', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const loads = await Promise.all(
      [1, 2, 3].map(() => loadCifar10({ ...base, dataDir: archive })),
    );
    for (const data of loads) expect(data.train.images).toEqual(loads[0]!.train.images);
    expect((await cacheEntries()).length).toBe(1);
  });

  it('unpacks only the plain files of cifar-10-batches-bin/', async () => {
    const archive = await writeCifarArchive(dir, RECORDS, { strays: true });
    const data = await loadCifar10({ ...base, dataDir: archive });
    const key = `cifar10-${data.source.checksum!.sha256.slice(0, 16)}`;
    expect((await readdir(join(cache, key))).sort()).toEqual([
      'cifar-10-batches-bin',
      'digests.json',
    ]);
    expect(await readdir(join(cache, key, 'cifar-10-batches-bin'))).not.toContain('link');
  });

  it('reports whether a local archive is verified, and warns about an unknown one', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const warnings: string[] = [];
    const unknown = await loadCifar10({
      ...base,
      dataDir: archive,
      onWarning: (m) => warnings.push(m),
    });
    expect(unknown.source.verified).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(unknown.source.checksum!.sha256);
    expect(warnings[0]).toMatch(/knownChecksums/);

    warnings.length = 0;
    const vouched = await loadCifar10({
      ...base,
      dataDir: archive,
      onWarning: (m) => warnings.push(m),
      knownChecksums: [
        { algorithm: 'sha256', hex: (await sha256(archive)).toUpperCase(), description: 'my copy' },
      ],
    });
    expect(vouched.source.verified).toBe(true);
    expect(vouched.source.matched).toBe('my copy');
    expect(warnings).toEqual([]);

    await expect(
      loadCifar10({
        ...base,
        dataDir: archive,
        knownChecksums: [{ algorithm: 'md5', hex: 'abc' }],
      }),
    ).rejects.toThrow(InvalidArgumentError);
  });

  it('rejects unreadable or incomplete archives and leaves nothing in the cache', async () => {
    const garbage = join(dir, 'garbage.tar.gz');
    await writeFile(garbage, 'not a tarball at all');
    await expect(loadCifar10({ ...base, dataDir: garbage })).rejects.toThrow(CorruptFileError);

    const good = await readFile(await writeCifarArchive(join(dir, 'good'), RECORDS));
    const cut = join(dir, 'cut.tar.gz');
    await writeFile(cut, good.subarray(0, good.length >> 1));
    const truncated = loadCifar10({ ...base, dataDir: cut });
    await expect(truncated).rejects.toThrow(CorruptFileError);
    await expect(truncated).rejects.toThrow(/cut\.tar\.gz: is not a readable \.tar\.gz/);

    const flat = join(dir, 'flat');
    await writeCifarFolder(flat, RECORDS);
    const noFolder = join(dir, 'no-folder.tar.gz');
    await create({ gzip: true, file: noFolder, cwd: join(flat, 'cifar-10-batches-bin') }, [
      'data_batch_1.bin',
    ]);
    await expect(loadCifar10({ ...base, dataDir: noFolder })).rejects.toThrow(
      /does not hold a cifar-10-batches-bin\/ folder \(found: data_batch_1\.bin\)/,
    );

    await rm(join(flat, 'cifar-10-batches-bin', 'test_batch.bin'));
    const incomplete = join(dir, 'incomplete.tar.gz');
    await create({ gzip: true, file: incomplete, cwd: flat }, ['cifar-10-batches-bin']);
    await expect(loadCifar10({ ...base, dataDir: incomplete })).rejects.toThrow(
      /is not a complete CIFAR-10 archive: test_batch\.bin is missing/,
    );
    expect(await cacheEntries()).toEqual([]);
  });

  it('explains how to point at a local copy when nothing is found and downloads are off', async () => {
    const load = loadCifar10(base);
    await expect(load).rejects.toThrow(DataNotFoundError);
    await expect(load).rejects.toThrow(
      /downloads are off.*--data-dir PATH or set DYNAPRUNE_DATA=PATH/,
    );
  });

  it('finds what an earlier --data-dir load unpacked into the cache, offline, keeping its checksum verdict', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    const digest = await sha256(archive);
    const first = await loadCifar10({ ...base, dataDir: archive });
    expect(first.source).toMatchObject({ origin: 'data-dir', verified: false });
    // The next command has no --data-dir: the extraction is found, and its unknown checksum said again.
    const warnings: string[] = [];
    const again = await loadCifar10({ ...base, onWarning: (m) => warnings.push(m) });
    expect(again.source).toMatchObject({ origin: 'cache', verified: false });
    expect(again.source.checksum?.sha256).toBe(digest);
    expect(again.train.images).toEqual(first.train.images);
    expect(warnings.join()).toMatch(/not that of a known/);
    // Trusted, it is verified from the cache too; --data-dir and $DYNAPRUNE_DATA still win.
    const known = { algorithm: 'sha256', hex: digest, description: 'test archive' } as const;
    const trusted = await loadCifar10({ ...base, knownChecksums: [known] });
    expect(trusted.source).toMatchObject({
      origin: 'cache',
      verified: true,
      matched: 'test archive',
    });
    const folder = await writeCifarFolder(join(dir, 'other'), RECORDS);
    process.env['DYNAPRUNE_DATA'] = folder;
    expect((await loadCifar10(base)).source.origin).toBe('env');
    expect((await loadCifar10({ ...base, dataDir: archive })).source.origin).toBe('data-dir');
  });

  it('removes the half-done extraction folders of killed processes, not those of live ones', async () => {
    const archive = await writeCifarArchive(dir, RECORDS);
    await mkdir(cache, { recursive: true });
    const dead = join(cache, `.cifar10-0123456789abcdef.${2 ** 22 + 7}.1.partial`);
    const live = join(cache, `.cifar10-0123456789abcdef.${process.pid}.1.partial`);
    await mkdir(join(dead, 'cifar-10-batches-bin'), { recursive: true });
    await mkdir(live);
    await loadCifar10({ ...base, dataDir: archive });
    const entries = await cacheEntries();
    expect(entries).not.toContain(dead.slice(cache.length + 1));
    expect(entries).toContain(live.slice(cache.length + 1));
  });
});
