// Extracts a CIFAR-10 .tar.gz once into the cache, atomically, in a folder keyed by the archive's SHA-256.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { CorruptFileError } from '../errors.js';
import { digestFile, type Digests } from './checksum.js';
import { CIFAR10_BATCH_FILES, CIFAR10_FOLDER, CIFAR10_RECORD_BYTES } from './cifar10-format.js';
import { pathKind } from './paths.js';
import type { DataProgress } from './types.js';

/** Options of {@link extractCifarArchive}. */
export interface ExtractOptions {
  /** The archive's digests when the caller already has them (a fresh download); skips a hashing pass. */
  readonly digests?: Digests;
  /** Receives `verify` progress while hashing and `extract` progress while unpacking. */
  readonly onProgress?: (progress: DataProgress) => void;
}

/** Where an archive's batch files are, once extracted. */
export interface ExtractedArchive {
  /** The `cifar-10-batches-bin` folder inside the cache. */
  readonly folder: string;
  readonly digests: Digests;
  /** True when an earlier extraction was reused and nothing was unpacked. */
  readonly reused: boolean;
}

/** Entry types worth unpacking: plain files. Links, devices and the like are never written. */
const PLAIN_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** The file name when `path` is a plain name directly inside `cifar-10-batches-bin/`, else undefined. */
function nameInFolder(path: string): string | undefined {
  const p = path.replace(/^(\.\/)+/, '');
  if (!p.startsWith(`${CIFAR10_FOLDER}/`)) return undefined;
  const name = p.slice(CIFAR10_FOLDER.length + 1);
  return /^[\w][\w.-]*$/.test(name) ? name : undefined;
}

/** True when `folder` holds every batch file (a finished extraction). */
async function isComplete(folder: string): Promise<boolean> {
  for (const name of CIFAR10_BATCH_FILES) {
    if ((await pathKind(join(folder, name))) !== 'file') return false;
  }
  return true;
}

/** What the archive held, as far as validation cares. */
interface Unpacked {
  /** Top-level names seen in the archive, for the error message when the folder is absent. */
  readonly topLevel: ReadonlySet<string>;
  /** Names of the files written into the staging folder. */
  readonly written: ReadonlySet<string>;
}

/** Resolves when `out` has closed its file, rejects if it failed first. */
function closed(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    out.on('error', (error) => (failure = error));
    out.on('close', () => (failure ? reject(failure) : resolve()));
  });
}

/**
 * Streams the archive through tar's parser and writes the plain files of `cifar-10-batches-bin/` itself,
 * to paths it builds from the bare file names: nothing else in the archive can reach the disk. Every file
 * is closed before this settles, so a failed extraction can be removed completely.
 */
async function unpack(
  archive: string,
  into: string,
  onProgress?: (progress: DataProgress) => void,
): Promise<Unpacked> {
  const bytesTotal = (await stat(archive)).size;
  const folder = join(into, CIFAR10_FOLDER);
  await mkdir(folder);
  const topLevel = new Set<string>();
  const written = new Set<string>();
  const outputs: WriteStream[] = [];
  const writes: Promise<void>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // strict: tar's warnings (bad headers, truncation, not a tarball) become errors, not silent skips.
      const parser = new Parser({ strict: true });
      const input = createReadStream(archive, { highWaterMark: 1 << 20 });
      const fail = (error: Error) => {
        input.destroy();
        for (const out of outputs) out.destroy();
        reject(error);
      };
      let bytesDone = 0;
      input.on('data', (chunk) => {
        bytesDone += chunk.length;
        onProgress?.({ phase: 'extract', bytesDone, bytesTotal });
      });
      input.on('error', fail);
      // Errors from the parser (tar or gzip) mean bad bytes; file system errors pass through as they are.
      parser.on('error', (error: Error) =>
        fail(
          new CorruptFileError(
            archive,
            `is not a readable .tar.gz (${error.message}). Extract or download it again.`,
            'E_CORRUPT_FILE',
            { cause: error },
          ),
        ),
      );
      parser.on('entry', (entry: ReadEntry) => {
        const top = entry.path.replace(/^(\.\/)+/, '').split('/')[0];
        if (top) topLevel.add(top);
        const name = nameInFolder(entry.path);
        if (name === undefined || !PLAIN_FILE_TYPES.has(entry.type) || written.has(name)) {
          entry.resume();
          return;
        }
        written.add(name);
        const out = createWriteStream(join(folder, name));
        // A failed write (a full disk) would otherwise stall the entry, and with it the parser.
        out.on('error', fail);
        outputs.push(out);
        writes.push(closed(out));
        entry.pipe(out);
      });
      parser.on('end', () => resolve());
      input.pipe(parser);
    });
  } finally {
    await Promise.allSettled(writes);
  }
  await Promise.all(writes);
  return { topLevel, written };
}

/** Checks a fresh extraction before it is published: every batch file present, whole records. */
async function validateExtraction(
  archive: string,
  staging: string,
  unpacked: Unpacked,
): Promise<void> {
  if (!unpacked.topLevel.has(CIFAR10_FOLDER)) {
    throw new CorruptFileError(
      archive,
      `does not hold a ${CIFAR10_FOLDER}/ folder (found: ${[...unpacked.topLevel].join(', ') || 'nothing'}). ` +
        'Expected the CIFAR-10 binary version (cifar-10-binary.tar.gz).',
    );
  }
  const folder = join(staging, CIFAR10_FOLDER);
  const problems: string[] = [];
  for (const name of CIFAR10_BATCH_FILES) {
    if (!unpacked.written.has(name)) {
      problems.push(`${name} is missing`);
      continue;
    }
    const size = (await stat(join(folder, name))).size;
    if (size === 0 || size % CIFAR10_RECORD_BYTES !== 0) {
      problems.push(
        `${name} has ${size} bytes, not a whole number of ${CIFAR10_RECORD_BYTES}-byte records`,
      );
    }
  }
  if (problems.length > 0) {
    throw new CorruptFileError(
      archive,
      `is not a complete CIFAR-10 archive: ${problems.join('; ')}.`,
    );
  }
}

let stagingCounter = 0;

/** The file, beside `cifar-10-batches-bin/` in an extraction, that records the archive's digests. */
const EXTRACTION_DIGESTS = 'digests.json';
const EXTRACTION_NAME = /^cifar10-([0-9a-f]{16})$/;

/** A finished extraction found in the cache. */
export interface CachedExtraction {
  /** Its `cifar-10-batches-bin` folder. */
  readonly folder: string;
  /** The first 16 hex digits of the archive's SHA-256 (the folder's key). */
  readonly sha256Prefix: string;
  /** The archive's digests, when the extraction recorded them. */
  readonly digests?: Digests;
}

/**
 * The finished extractions in `cacheDir` (`cifar10-<key>/cifar-10-batches-bin` with every batch file),
 * newest first. Links are not followed; half-done (`.partial`) folders are not listed.
 */
export async function findCachedExtractions(cacheDir: string): Promise<CachedExtraction[]> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch {
    return [];
  }
  const found: (CachedExtraction & { time: number })[] = [];
  for (const name of names) {
    const key = EXTRACTION_NAME.exec(name);
    const folder = join(cacheDir, name, CIFAR10_FOLDER);
    if (!key || !(await isComplete(folder))) continue;
    let digests: Digests | undefined;
    try {
      const parsed = JSON.parse(
        await readFile(join(cacheDir, name, EXTRACTION_DIGESTS), 'utf8'),
      ) as Partial<Digests>;
      if (typeof parsed.md5 === 'string' && parsed.sha256?.startsWith(key[1]!)) {
        digests = { md5: parsed.md5, sha256: parsed.sha256 };
      }
    } catch {
      // Extractions made before the digests were recorded: only the key is known.
    }
    const time = (await stat(folder)).mtimeMs;
    found.push({ folder, sha256Prefix: key[1]!, ...(digests ? { digests } : {}), time });
  }
  return found.sort((a, b) => b.time - a.time).map(({ time: _time, ...rest }) => rest);
}

/**
 * Extracts `archive` once into `<cacheDir>/cifar10-<first 16 hex digits of its SHA-256>/` and returns the
 * `cifar-10-batches-bin` folder inside. The key is the archive's content, so a different archive (even
 * at the same path) never reuses a stale extraction, and a finished extraction is reused by every later
 * load. Unpacking goes to a temporary sibling folder that is renamed into place only after its structure
 * has been validated; a crash or a bad archive leaves no half-extracted folder behind.
 *
 * Only the plain files directly inside `cifar-10-batches-bin/` are written: no links, nothing else.
 *
 * @throws CorruptFileError when the archive is not a readable .tar.gz or lacks a batch file. File system
 *   errors (a full disk, no permission) are passed through unchanged.
 */
export async function extractCifarArchive(
  archive: string,
  cacheDir: string,
  options: ExtractOptions = {},
): Promise<ExtractedArchive> {
  const digests = options.digests ?? (await digestFile(archive, options.onProgress));
  const key = `cifar10-${digests.sha256.slice(0, 16)}`;
  const target = join(cacheDir, key);
  const folder = join(target, CIFAR10_FOLDER);
  if (await isComplete(folder)) return { folder, digests, reused: true };
  // A target that exists but is incomplete was damaged by hand; it cannot be trusted or completed.
  if ((await pathKind(target)) !== undefined) await rm(target, { recursive: true, force: true });

  await mkdir(cacheDir, { recursive: true });
  const staging = join(cacheDir, `.${key}.${process.pid}.${++stagingCounter}.partial`);
  await mkdir(staging);
  try {
    const unpacked = await unpack(archive, staging, options.onProgress);
    await validateExtraction(archive, staging, unpacked);
    // The archive's digests, so a later load that finds this folder in the cache can say whether the data
    // was verified without the archive at hand.
    await writeFile(join(staging, EXTRACTION_DIGESTS), JSON.stringify(digests) + '\n');
    try {
      await rename(staging, target);
    } catch (error) {
      // Another process finished the same extraction first; its copy is identical, so use it.
      if (!(await isComplete(folder))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { folder, digests, reused: false };
}
