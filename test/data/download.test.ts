// Verified downloads against a local HTTP server: success, checksum mismatch, broken transfer, offline.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/datasets.js';
import { downloadVerified } from '../../src/data/download.js';
import { ChecksumError, DownloadError } from '../../src/errors.js';
import { writeCifarArchive } from './fixtures.js';

describe('downloads', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let archive: Buffer;
  let md5: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-dl-'));
    archive = await readFile(await writeCifarArchive(join(dir, 'src'), 3));
    md5 = createHash('md5').update(archive).digest('hex');
    server = createServer((req, res) => {
      if (req.url === '/cifar.tar.gz') {
        res.writeHead(200, { 'content-length': String(archive.length) });
        res.end(archive);
      } else if (req.url === '/broken') {
        // Promise the whole archive, send half, then drop the connection.
        res.writeHead(200, { 'content-length': String(archive.length) });
        res.write(archive.subarray(0, archive.length >> 1), () => res.destroy());
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads into the cache with progress, verifies, extracts and loads', async () => {
    const cache = join(dir, 'cache-ok');
    const progress: number[] = [];
    const data = await loadDataset('cifar10', {
      cacheDir: cache,
      url: `${base}/cifar.tar.gz`,
      knownChecksums: [{ algorithm: 'md5', hex: md5 }],
      recordsPerFile: 3,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(data.train.count).toBe(15);
    expect(data.source.verified).toBe(true);
    expect(progress.at(-1)).toBe(archive.length);
    expect((await readdir(cache)).sort()).toContain('cifar-10-binary.tar.gz');
    expect((await readdir(cache)).some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('refuses a download whose checksum does not match and leaves nothing usable behind', async () => {
    const cache = join(dir, 'cache-bad');
    // Without knownChecksums, only the official archive's digest is accepted.
    const load = loadDataset('cifar10', {
      cacheDir: cache,
      url: `${base}/cifar.tar.gz`,
      recordsPerFile: 3,
    });
    await expect(load).rejects.toThrow(ChecksumError);
    expect(await readdir(cache)).toEqual([]);
  });

  it('never uses a partial download', async () => {
    const target = join(dir, 'partial', 'file.tar.gz');
    await expect(
      downloadVerified(`${base}/broken`, target, { checksums: [{ algorithm: 'md5', hex: md5 }] }),
    ).rejects.toThrow(DownloadError);
    expect(await readdir(join(dir, 'partial'))).toEqual([]);
  });

  it('reports HTTP errors', async () => {
    await expect(
      downloadVerified(`${base}/missing`, join(dir, 'x', 'f'), {
        checksums: [{ algorithm: 'md5', hex: md5 }],
      }),
    ).rejects.toThrow(/HTTP 404/);
  });

  it('explains how to use a local copy when the network is unreachable', async () => {
    // Port 9 on loopback: nothing listens, so the connection is refused at once.
    const load = loadDataset('cifar10', {
      cacheDir: join(dir, 'cache-off'),
      url: 'http://127.0.0.1:9/cifar.tar.gz',
    });
    await expect(load).rejects.toThrow(DownloadError);
    await expect(load).rejects.toThrow(/--data-dir PATH or set DYNAPRUNE_DATA/);
  });
});
