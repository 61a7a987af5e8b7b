// Downloads a file into the cache, hashing as it streams; only a complete file with a known checksum is renamed into place.
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChecksumError, DownloadError } from '../errors.js';
import {
  checkChecksums,
  describeChecksums,
  DigestStream,
  findChecksum,
  type Checksum,
  type Digests,
} from './checksum.js';
import type { DataProgress } from './types.js';

/** Options of {@link downloadVerified}. */
export interface DownloadOptions {
  /** Digests the file may have; it must match at least one, or it is deleted and refused. */
  readonly checksums: readonly Checksum[];
  /** Receives `download` progress after every chunk. */
  readonly onProgress?: (progress: DataProgress) => void;
  /** The fetch implementation; default the global `fetch`. Tests and proxies inject their own. */
  readonly fetch?: typeof fetch;
  /** Appended to every DownloadError: how to proceed without the network. */
  readonly offlineHint?: string;
  /** Cancels the download; the partial file is removed. */
  readonly signal?: AbortSignal;
}

/** What {@link downloadVerified} saved. */
export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly digests: Digests;
  /** The checksum that matched. */
  readonly matched: Checksum;
}

/** The most specific reason a fetch failed: "ECONNREFUSED", "ENOTFOUND", or the message. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Streams `url` into `<target>.part`, hashing as it goes. Only when the transfer is complete and its
 * digest matches one of `options.checksums` is the file synced and renamed to `target`. On any failure the
 * partial file is removed, so neither a partial nor a wrong download can ever be used.
 *
 * @throws DownloadError when the server cannot be reached, answers with an HTTP error, or breaks off.
 * @throws ChecksumError when the complete file matches none of the checksums.
 */
export async function downloadVerified(
  url: string,
  target: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  checkChecksums(options.checksums);
  const doFetch = options.fetch ?? fetch;
  const hint = options.offlineHint ? ` ${options.offlineHint}` : '';
  const part = `${target}.part`;
  await mkdir(dirname(target), { recursive: true });

  let response: Response;
  try {
    response = await doFetch(url, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    throw new DownloadError(`Could not reach ${url} (${reason(error)}).${hint}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadError(
      `Downloading ${url} failed with HTTP ${response.status} ${response.statusText}.${hint}`,
    );
  }
  const header = response.headers.get('content-length');
  const parsedTotal = header === null ? NaN : Number(header);
  const bytesTotal = Number.isSafeInteger(parsedTotal) ? parsedTotal : undefined;

  const hasher = new DigestStream();
  let bytesDone = 0;
  const reader = response.body.getReader();
  let file: FileHandle;
  try {
    file = await open(part, 'w');
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  try {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        hasher.update(value);
        await file.write(value);
        bytesDone += value.length;
        options.onProgress?.({
          phase: 'download',
          bytesDone,
          ...(bytesTotal !== undefined ? { bytesTotal } : {}),
        });
      }
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    await rm(part, { force: true });
    throw new DownloadError(
      `The download of ${url} broke off after ${bytesDone} bytes (${reason(error)}); the partial ` +
        `file was deleted.${hint}`,
      { cause: error },
    );
  }
  if (bytesTotal !== undefined && bytesDone !== bytesTotal) {
    await rm(part, { force: true });
    throw new DownloadError(
      `The download of ${url} ended at ${bytesDone} of ${bytesTotal} bytes; the partial file was ` +
        `deleted.${hint}`,
    );
  }
  const digests = hasher.digest();
  const matched = findChecksum(digests, options.checksums);
  if (matched === undefined) {
    await rm(part, { force: true });
    throw new ChecksumError(
      url,
      describeChecksums(options.checksums),
      `md5 ${digests.md5}, sha256 ${digests.sha256}`,
      'The download was deleted and nothing was used. If this is a mirror you trust, add its ' +
        'checksum to the known checksums.',
    );
  }
  await rename(part, target);
  return { path: target, bytes: bytesDone, digests, matched };
}
