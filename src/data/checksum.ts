// File digests (MD5 and SHA-256 in one pass) and matching them against a list of known-good checksums.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import type { DataProgress } from './types.js';

/** An expected digest, lower- or upper-case hex. */
export interface Checksum {
  readonly algorithm: 'md5' | 'sha256';
  readonly hex: string;
  /** What the digest identifies ("official archive"); shown in `DataSource.matched`. */
  readonly description?: string;
}

/** Both digests of a file, lower-case hex. */
export interface Digests {
  readonly md5: string;
  readonly sha256: string;
}

const HEX_LENGTH = { md5: 32, sha256: 64 } as const;

/** Throws InvalidArgumentError unless every checksum is well-formed hex of its algorithm's length. */
export function checkChecksums(checksums: readonly Checksum[]): void {
  for (const c of checksums) {
    const length = HEX_LENGTH[c.algorithm];
    if (length === undefined || !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(c.hex)) {
      throw new InvalidArgumentError(
        `Checksum ${JSON.stringify(c)} is malformed: expected algorithm "md5" with 32 hex digits ` +
          'or "sha256" with 64.',
      );
    }
  }
}

/** The first checksum in `known` that `digests` match, or undefined. */
export function findChecksum(digests: Digests, known: readonly Checksum[]): Checksum | undefined {
  return known.find((c) => digests[c.algorithm] === c.hex.toLowerCase());
}

/** "md5 X or sha256 Y", for messages. */
export function describeChecksums(checksums: readonly Checksum[]): string {
  return checksums.map((c) => `${c.algorithm} ${c.hex.toLowerCase()}`).join(' or ');
}

/** An incremental MD5 + SHA-256 hasher, for data that arrives in chunks. */
export class DigestStream {
  private readonly md5 = createHash('md5');
  private readonly sha256 = createHash('sha256');

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.sha256.update(chunk);
  }

  /** The digests; call once, after the last chunk. */
  digest(): Digests {
    return { md5: this.md5.digest('hex'), sha256: this.sha256.digest('hex') };
  }
}

/** The MD5 and SHA-256 of a file in one streamed pass, reporting `verify` progress. */
export async function digestFile(
  path: string,
  onProgress?: (progress: DataProgress) => void,
): Promise<Digests> {
  const bytesTotal = (await stat(path)).size;
  const hasher = new DigestStream();
  let bytesDone = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hasher.update(chunk as Buffer);
    bytesDone += (chunk as Buffer).length;
    onProgress?.({ phase: 'verify', bytesDone, bytesTotal });
  }
  return hasher.digest();
}
