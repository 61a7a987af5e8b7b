// Downloads a file into the cache with a progress callback, verifies its checksum, and only then renames it into place.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChecksumError, DownloadError } from '../errors.js';

/** Progress of a download or a long read, for progress bars. */
export interface DownloadProgress {
  readonly phase: 'download' | 'verify' | 'extract';
  readonly bytesDone: number;
  /** Undefined when the server does not say. */
  readonly bytesTotal?: number;
}

/** An expected digest: `md5` or `sha256`, lower-case hex. */
export interface Checksum {
  readonly algorithm: 'md5' | 'sha256';
  readonly hex: string;
}

export interface DownloadOptions {
  /** Digests the file must match; at least one must match, or the file is refused. */
  readonly checksums: readonly Checksum[];
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Injectable for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** A sentence telling the user how to proceed without the network. */
  readonly offlineHint?: string;
}

/**
 * Streams `url` into `target.part`, hashing as it goes; on success and a matching checksum, renames it to
 * `target`. On any failure the partial file is deleted, so a partial or wrong download is never used.
 */
export async function downloadVerified(
  url: string,
  target: string,
  options: DownloadOptions,
): Promise<void> {
  const doFetch = options.fetch ?? fetch;
  const hint = options.offlineHint ? ` ${options.offlineHint}` : '';
  await mkdir(dirname(target), { recursive: true });
  const part = `${target}.part`;
  let response: Response;
  try {
    response = await doFetch(url);
  } catch (error) {
    throw new DownloadError(`Could not reach ${url} (${(error as Error).message}).${hint}`, {
      cause: error,
    });
  }
  if (!response.ok || response.body === null) {
    throw new DownloadError(`Downloading ${url} failed with HTTP ${response.status}.${hint}`);
  }
  const header = response.headers.get('content-length');
  const total = header === null ? undefined : Number(header);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const out = createWriteStream(part);
  let done = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { value, done: finished } = await reader.read();
      if (finished) break;
      md5.update(value);
      sha256.update(value);
      done += value.length;
      if (!out.write(value))
        await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      options.onProgress?.({
        phase: 'download',
        bytesDone: done,
        ...(total !== undefined ? { bytesTotal: total } : {}),
      });
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    out.destroy();
    await rm(part, { force: true });
    throw new DownloadError(
      `The download of ${url} broke off after ${done} bytes (${(error as Error).message}).${hint}`,
      {
        cause: error,
      },
    );
  }
  if (total !== undefined && done !== total) {
    await rm(part, { force: true });
    throw new DownloadError(`The download of ${url} stopped at ${done} of ${total} bytes.${hint}`);
  }
  const digests = { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
  const match = options.checksums.some((c) => digests[c.algorithm] === c.hex.toLowerCase());
  if (!match) {
    await rm(part, { force: true });
    const expected = options.checksums.map((c) => `${c.algorithm} ${c.hex}`).join(' or ');
    throw new ChecksumError(
      target,
      expected,
      `md5 ${digests.md5}`,
      'The download was deleted; nothing was used.',
    );
  }
  await rename(part, target);
}
