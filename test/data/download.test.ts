// Verified downloads against a local HTTP server: success, checksum mismatch, broken transfers, offline.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCifar10, type Cifar10Options } from '../../src/data/cifar10.js';
import { downloadVerified } from '../../src/data/download.js';
import type { DataProgress } from '../../src/data/types.js';
import { ChecksumError, DataNotFoundError, DownloadError } from '../../src/errors.js';
import { startServer, stopServer, writeCifarArchive } from './fixtures.js';

const RECORDS = 3;

describe('downloads', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let archive: Buffer;
  let md5: string;
  const requests: string[] = [];
  const saved = process.env['DYNAPRUNE_DATA'];

  beforeAll(async () => {
    delete process.env['DYNAPRUNE_DATA'];
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-dl-'));
    archive = await readFile(await writeCifarArchive(join(dir, 'src'), RECORDS));
    md5 = createHash('md5').update(archive).digest('hex');
    ({ server, base } = await startServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/cifar.tar.gz') {
        res.writeHead(200, { 'content-length': String(archive.length) });
        // Several writes; how many reads they arrive in is up to TCP, so tests count none.
        const step = Math.ceil(archive.length / 4);
        for (let at = 0; at < archive.length; at += step)
          res.write(archive.subarray(at, at + step));
        res.end();
      } else if (req.url === '/chunked') {
        res.writeHead(200); // no content-length: chunked transfer encoding
        res.end(archive);
      } else if (req.url === '/broken') {
        // Promise the whole archive, send half, then drop the connection.
        res.writeHead(200, { 'content-length': String(archive.length) });
        res.write(archive.subarray(0, archive.length >> 1), () => res.destroy());
      } else {
        res.writeHead(404);
        res.end();
      }
    }));
  });
  afterAll(async () => {
    await stopServer(server);
    await rm(dir, { recursive: true, force: true });
    if (saved !== undefined) process.env['DYNAPRUNE_DATA'] = saved;
  });
  beforeEach(() => {
    requests.length = 0;
  });

  /** Options for a download of the test archive into a fresh cache folder. */
  const options = (cache: string, extra: Cifar10Options = {}): Cifar10Options => ({
    cacheDir: join(dir, cache),
    url: `${base}/cifar.tar.gz`,
    recordsPerFile: RECORDS,
    ...extra,
  });

  it('downloads into the cache with progress, verifies before use, extracts, and then reuses the cache', async () => {
    const progress: DataProgress[] = [];
    const opts = options('cache-ok', {
      knownChecksums: [{ algorithm: 'md5', hex: md5, description: 'test archive' }],
      onProgress: (p) => progress.push(p),
    });
    const data = await loadCifar10(opts);
    expect(data.train.count).toBe(5 * RECORDS);
    expect(data.source).toMatchObject({
      origin: 'download',
      path: join(dir, 'cache-ok', 'cifar-10-binary.tar.gz'),
      verified: true,
      matched: 'test archive',
    });
    const downloads = progress.filter((p) => p.phase === 'download');
    for (let i = 1; i < downloads.length; i++) {
      expect(downloads[i]!.bytesDone).toBeGreaterThan(downloads[i - 1]!.bytesDone);
    }
    expect(downloads.at(-1)).toEqual({
      phase: 'download',
      bytesDone: archive.length,
      bytesTotal: archive.length,
    });
    expect(progress.some((p) => p.phase === 'extract')).toBe(true);
    // The digest computed while downloading is reused; the archive is not hashed a second time.
    expect(progress.some((p) => p.phase === 'verify')).toBe(false);
    const entries = await readdir(join(dir, 'cache-ok'));
    expect(entries).toContain('cifar-10-binary.tar.gz');
    expect(entries.some((f) => f.endsWith('.part') || f.endsWith('.partial'))).toBe(false);
    expect(await readFile(join(dir, 'cache-ok', 'cifar-10-binary.tar.gz'))).toEqual(archive);

    // The next load finds the verified archive in the cache and makes no request.
    requests.length = 0;
    const again = await loadCifar10({ ...opts, download: false });
    expect(again.source).toMatchObject({ origin: 'cache', verified: true });
    expect(again.train.images).toEqual(data.train.images);
    expect(requests).toEqual([]);
  });

  it('refuses a download that does not match the official checksum and leaves no usable file', async () => {
    const load = loadCifar10(options('cache-bad'));
    await expect(load).rejects.toThrow(ChecksumError);
    await expect(load).rejects.toThrow(
      /checksum mismatch: expected md5 c32a1d4ab5d03f1284b67883e8d87530, got md5 .*nothing was used/,
    );
    expect(await readdir(join(dir, 'cache-bad'))).toEqual([]);
    await expect(loadCifar10(options('cache-bad', { download: false }))).rejects.toThrow(
      DataNotFoundError,
    );
  });

  it('deletes a transfer that breaks off, and never uses a .part file', async () => {
    const cache = join(dir, 'cache-broken');
    const load = loadCifar10(options('cache-broken', { url: `${base}/broken` }));
    await expect(load).rejects.toThrow(DownloadError);
    await expect(load).rejects.toThrow(/broke off after \d+ bytes.*partial file was deleted/);
    expect(await readdir(cache)).toEqual([]);

    // A .part left by a crash is not data: with downloads off, nothing is found.
    await writeFile(join(cache, 'cifar-10-binary.tar.gz.part'), archive.subarray(0, 1000));
    await expect(loadCifar10(options('cache-broken', { download: false }))).rejects.toThrow(
      DataNotFoundError,
    );
    // A new download overwrites it.
    const data = await loadCifar10(
      options('cache-broken', { knownChecksums: [{ algorithm: 'md5', hex: md5 }] }),
    );
    expect(data.test.count).toBe(RECORDS);
    expect((await readdir(cache)).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('accepts a server that sends no content-length', async () => {
    const target = join(dir, 'chunked', 'file.tar.gz');
    const progress: DataProgress[] = [];
    const result = await downloadVerified(`${base}/chunked`, target, {
      checksums: [{ algorithm: 'md5', hex: md5 }],
      onProgress: (p) => progress.push(p),
    });
    expect(result.bytes).toBe(archive.length);
    expect(result.digests.md5).toBe(md5);
    expect(progress.at(-1)).toEqual({ phase: 'download', bytesDone: archive.length });
    expect(await readFile(target)).toEqual(archive);
  });

  it('reports HTTP errors with the status and the local-copy hint', async () => {
    const load = loadCifar10(options('cache-404', { url: `${base}/missing` }));
    await expect(load).rejects.toThrow(DownloadError);
    await expect(load).rejects.toThrow(/HTTP 404.*--data-dir PATH or set DYNAPRUNE_DATA=PATH/);
  });

  it('explains how to use a local copy when the connection is refused', async () => {
    // A port that was just free: listen, note it, close; nothing listens there now.
    const { server: closed, base: closedBase } = await startServer(() => undefined);
    await stopServer(closed);
    const load = loadCifar10(options('cache-off', { url: `${closedBase}/cifar.tar.gz` }));
    await expect(load).rejects.toThrow(DownloadError);
    await expect(load).rejects.toThrow(
      /Could not reach .*ECONNREFUSED.*--data-dir PATH or set DYNAPRUNE_DATA=PATH/,
    );
  });

  it('treats a DNS failure from an injected fetch the same way', async () => {
    const offline: typeof fetch = () =>
      Promise.reject(
        Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error('getaddrinfo ENOTFOUND www.cs.toronto.edu'), {
            code: 'ENOTFOUND',
          }),
        }),
      );
    await mkdir(join(dir, 'cache-dns'), { recursive: true });
    const load = loadCifar10(options('cache-dns', { url: undefined, fetch: offline }));
    await expect(load).rejects.toThrow(
      /Could not reach https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz \(ENOTFOUND\)/,
    );
    expect(await readdir(join(dir, 'cache-dns'))).toEqual([]);
  });

  it('stops and cleans up when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const target = join(dir, 'aborted', 'file.tar.gz');
    await expect(
      downloadVerified(`${base}/cifar.tar.gz`, target, {
        checksums: [{ algorithm: 'md5', hex: md5 }],
        signal: controller.signal,
      }),
    ).rejects.toThrow(DownloadError);
    expect(await readdir(join(dir, 'aborted'))).toEqual([]);
  });
});
