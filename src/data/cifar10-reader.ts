// Reads CIFAR-10 in the official binary layout, from a folder or a .tar.gz, into NHWC uint8 arrays.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import type { ImageSplit } from '../train/batch.js';

/** Bytes per record: one label byte, then 1,024 red, 1,024 green and 1,024 blue bytes. */
export const CIFAR10_RECORD_BYTES = 3073;
/** Records per batch file in the official archive. */
export const CIFAR10_RECORDS_PER_FILE = 10000;
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
const FOLDER = 'cifar-10-batches-bin';
const ARCHIVE = 'cifar-10-binary.tar.gz';

export const CIFAR10_LABELS = [
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
] as const;

export interface ReadCifarOptions {
  /** Take only the first N training images. */
  readonly trainLimit?: number;
  /** Take only the first N test images. */
  readonly testLimit?: number;
  /**
   * Records each batch file must hold. The official files hold 10,000; tests that write small archives
   * pass their own count. `'any'` accepts any whole number of records.
   */
  readonly recordsPerFile?: number | 'any';
  /** Where .tar.gz archives are extracted (default: $DYNAPRUNE_CACHE or ~/.cache/dynaprune). */
  readonly cacheDir?: string;
}

export interface Cifar10 {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  readonly labelNames: readonly string[];
  /** Where the batch files were read from. */
  readonly source: CifarFolder;
}

/** The cache folder: $DYNAPRUNE_CACHE, else ~/.cache/dynaprune. */
export function defaultCacheDir(): string {
  return process.env['DYNAPRUNE_CACHE'] ?? join(homedir(), '.cache', 'dynaprune');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The MD5 and SHA-256 of a file, in one streamed pass. */
export async function digestFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/** Where the batch files are, and, when they came from an archive, the archive's digests. */
export interface CifarFolder {
  readonly folder: string;
  readonly archive?: { readonly path: string; readonly md5: string; readonly sha256: string };
}

/**
 * Extracts a CIFAR-10 .tar.gz once into `<cache>/cifar10-<sha256 prefix>/`, atomically (into a
 * temporary folder, renamed when complete), and returns the folder holding the batch files. A different
 * archive has a different hash, so a stale extraction is never reused.
 */
export async function extractArchive(archive: string, cacheDir: string): Promise<CifarFolder> {
  const digests = await digestFile(archive);
  const found: CifarFolder = {
    folder: join(cacheDir, `cifar10-${digests.sha256.slice(0, 16)}`, FOLDER),
    archive: { path: archive, ...digests },
  };
  const target = join(cacheDir, `cifar10-${digests.sha256.slice(0, 16)}`);
  if (await isFile(join(target, FOLDER, CIFAR10_TEST_FILE))) return found;
  const staging = `${target}.${process.pid}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await extract({ file: archive, cwd: staging, strict: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new CorruptFileError(
      archive,
      `is not a readable .tar.gz (${(error as Error).message}).`,
      'E_CORRUPT_FILE',
      {
        cause: error,
      },
    );
  }
  if (!(await isDir(join(staging, FOLDER)))) {
    const found = await readdir(staging);
    await rm(staging, { recursive: true, force: true });
    throw new CorruptFileError(
      archive,
      `does not hold a ${FOLDER}/ folder (found: ${found.join(', ') || 'nothing'}). Expected the official CIFAR-10 binary archive.`,
    );
  }
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);
  return found;
}

/**
 * Finds the batch files for a user-given path: the `cifar-10-batches-bin` folder itself, a folder holding
 * it, a folder holding `cifar-10-binary.tar.gz`, or the path of a `.tar.gz`. Returns undefined when the
 * path holds none of these.
 */
export async function resolveCifarFolder(
  path: string,
  cacheDir: string,
): Promise<CifarFolder | undefined> {
  if (await isFile(path)) {
    if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) return extractArchive(path, cacheDir);
    return undefined;
  }
  if (await isFile(join(path, CIFAR10_TEST_FILE))) return { folder: path };
  if (await isFile(join(path, FOLDER, CIFAR10_TEST_FILE))) return { folder: join(path, FOLDER) };
  if (await isFile(join(path, ARCHIVE))) return extractArchive(join(path, ARCHIVE), cacheDir);
  return undefined;
}

/** Parses batch files into one NHWC split, checking every size and label before use. */
async function readSplit(
  folder: string,
  files: readonly string[],
  limit: number | undefined,
  recordsPerFile: number | 'any',
): Promise<ImageSplit> {
  const buffers: { file: string; bytes: Buffer }[] = [];
  let count = 0;
  for (const name of files) {
    if (limit !== undefined && count >= limit) break;
    const file = join(folder, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new DataNotFoundError(`CIFAR-10 batch file ${file} is missing.`, { cause: error });
    }
    const expected = recordsPerFile === 'any' ? undefined : recordsPerFile * CIFAR10_RECORD_BYTES;
    if (
      bytes.length === 0 ||
      bytes.length % CIFAR10_RECORD_BYTES !== 0 ||
      (expected !== undefined && bytes.length !== expected)
    ) {
      throw new CorruptFileError(
        file,
        `has ${bytes.length} bytes; expected ${expected ?? `a multiple of ${CIFAR10_RECORD_BYTES}`} ` +
          `(${recordsPerFile === 'any' ? 'whole' : recordsPerFile} records of ${CIFAR10_RECORD_BYTES} bytes). ` +
          'The file is truncated or not a CIFAR-10 binary batch.',
      );
    }
    buffers.push({ file, bytes });
    count += bytes.length / CIFAR10_RECORD_BYTES;
  }
  const total = limit === undefined ? count : Math.min(limit, count);
  const images = new Uint8Array(total * 3072);
  const labels = new Uint8Array(total);
  let i = 0;
  for (const { file, bytes } of buffers) {
    const records = bytes.length / CIFAR10_RECORD_BYTES;
    for (let r = 0; r < records && i < total; r++, i++) {
      const at = r * CIFAR10_RECORD_BYTES;
      const label = bytes[at]!;
      if (label > 9) {
        throw new CorruptFileError(
          file,
          `record ${r} has label ${label}; CIFAR-10 labels are 0 to 9.`,
        );
      }
      labels[i] = label;
      // Planar RGB (1,024 bytes per plane) to interleaved NHWC.
      const out = i * 3072;
      for (let p = 0; p < 1024; p++) {
        images[out + p * 3] = bytes[at + 1 + p]!;
        images[out + p * 3 + 1] = bytes[at + 1025 + p]!;
        images[out + p * 3 + 2] = bytes[at + 2049 + p]!;
      }
    }
  }
  return { images, labels, count: total };
}

/** Reads CIFAR-10 from `path` (see {@link resolveCifarFolder} for what it may be). */
export async function readCifar10(path: string, options: ReadCifarOptions = {}): Promise<Cifar10> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const source = await resolveCifarFolder(path, cacheDir);
  if (source === undefined) {
    throw new DataNotFoundError(
      `No CIFAR-10 data at ${path}. Point --data-dir (or DYNAPRUNE_DATA) at the cifar-10-batches-bin ` +
        `folder, a folder holding it, or the official ${ARCHIVE}.`,
    );
  }
  const recordsPerFile = options.recordsPerFile ?? CIFAR10_RECORDS_PER_FILE;
  const train = await readSplit(
    source.folder,
    CIFAR10_TRAIN_FILES,
    options.trainLimit,
    recordsPerFile,
  );
  const test = await readSplit(
    source.folder,
    [CIFAR10_TEST_FILE],
    options.testLimit,
    recordsPerFile,
  );
  return { train, test, labelNames: [...CIFAR10_LABELS], source };
}
