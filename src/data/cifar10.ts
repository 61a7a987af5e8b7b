// Loads CIFAR-10 (official binary layout) from --data-dir, $DYNAPRUNE_DATA, the cache, or a verified download.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import { checkChecksums, findChecksum, type Checksum, type Digests } from './checksum.js';
import {
  extractCifarArchive,
  findCachedExtractions,
  type CachedExtraction,
} from './cifar10-archive.js';
import { removeStaleTemporaries } from '../util/stale-files.js';
import {
  CIFAR10_ARCHIVE,
  CIFAR10_BATCH_FILES,
  CIFAR10_FOLDER,
  CIFAR10_IMAGE_BYTES,
  CIFAR10_LABELS,
  CIFAR10_META_FILE,
  CIFAR10_RECORD_BYTES,
  CIFAR10_RECORDS_PER_FILE,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  decodeRecords,
  parseLabelNames,
  recordsInBatchFile,
  type RecordsPerFile,
} from './cifar10-format.js';
import { downloadVerified } from './download.js';
import { DATA_ENV, dataDirFromEnv, defaultCacheDir, pathKind } from './paths.js';
import {
  checkLimit,
  type CommonLoadOptions,
  type DataSource,
  type Dataset,
  type ImageSplit,
} from './types.js';

/** The official CIFAR-10 binary archive (Krizhevsky, 2009). */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';

/** The official archive's digest. A download must match it (or a checksum the caller adds). */
export const CIFAR10_OFFICIAL_CHECKSUM: Checksum = {
  algorithm: 'md5',
  hex: 'c32a1d4ab5d03f1284b67883e8d87530',
  description: 'official archive',
};

/**
 * Digests of CIFAR-10 archives known to be good: the official archive, and the copy kept beside this
 * project in `shared/data/cifar10/` (rebuilt losslessly from a PNG export, records shuffled, so its bytes
 * differ). Callers add their own with the `knownChecksums` option.
 */
export const CIFAR10_CHECKSUMS: readonly Checksum[] = [
  CIFAR10_OFFICIAL_CHECKSUM,
  {
    algorithm: 'md5',
    hex: '66b94bcabd7b3816441352fc45309406',
    description: 'rebuilt copy (shared/data/cifar10)',
  },
  {
    algorithm: 'sha256',
    hex: 'a87e0ceef0dd7f9fe65d62b79b0a74d52f3c2929c5927e4ed71bddcee4cacbb1',
    description: 'rebuilt copy (shared/data/cifar10)',
  },
];

/** Options of {@link loadCifar10}. */
export interface Cifar10Options extends CommonLoadOptions {
  /**
   * More archive digests to trust, for example a mirror's or a re-packed copy's. They extend
   * {@link CIFAR10_CHECKSUMS}: a local archive matching one reports `verified: true`, and a download
   * (which must otherwise match the official archive) is accepted when it matches one.
   */
  readonly knownChecksums?: readonly Checksum[];
  /** Download the official archive when no local copy is found. Default true. */
  readonly download?: boolean;
  /** The download URL; default {@link CIFAR10_URL}. Mirrors and tests override it. */
  readonly url?: string;
  /** The fetch implementation for the download; default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Cancels a download in progress. */
  readonly signal?: AbortSignal;
  /**
   * Records each batch file must hold: 10,000 (the default) as in the official archive, another count,
   * or `'any'` for any positive whole number (small test archives, subsets).
   */
  readonly recordsPerFile?: RecordsPerFile;
}

/** A place that holds CIFAR-10: a folder with the batch files, or an archive. */
export type Cifar10Location =
  | { readonly kind: 'folder'; readonly folder: string }
  | { readonly kind: 'archive'; readonly archive: string };

const isArchiveName = (path: string): boolean => /\.(tar\.gz|tgz)$/i.test(path);

const ACCEPTED_LAYOUTS = `the ${CIFAR10_FOLDER} folder, a folder holding it or ${CIFAR10_ARCHIVE}, or the path of the .tar.gz`;

const LOCAL_COPY_HINT = `To use a local copy, pass --data-dir PATH or set ${DATA_ENV}=PATH, where PATH is ${ACCEPTED_LAYOUTS}.`;

/**
 * Finds CIFAR-10 at `path`, which may be the `cifar-10-batches-bin` folder itself, a folder holding it,
 * a folder holding `cifar-10-binary.tar.gz`, the path of a `.tar.gz`, or a folder holding any of these in
 * a `cifar10/` subfolder (so one data root can serve every dataset). An extracted folder is preferred to
 * an archive beside it. Returns undefined when `path` holds none of these.
 */
export async function locateCifar10(path: string): Promise<Cifar10Location | undefined> {
  const kind = await pathKind(path);
  if (kind === 'file') return isArchiveName(path) ? { kind: 'archive', archive: path } : undefined;
  if (kind !== 'dir') return undefined;
  for (const name of CIFAR10_BATCH_FILES) {
    // Any one batch file marks the folder; a missing sibling is then reported by name when read.
    if ((await pathKind(join(path, name))) === 'file') return { kind: 'folder', folder: path };
  }
  const inner = join(path, CIFAR10_FOLDER);
  if ((await pathKind(inner)) === 'dir') return { kind: 'folder', folder: inner };
  const archive = join(path, CIFAR10_ARCHIVE);
  if ((await pathKind(archive)) === 'file') return { kind: 'archive', archive };
  const nested = join(path, 'cifar10');
  if ((await pathKind(nested)) === 'dir') return locateCifar10(nested);
  return undefined;
}

/**
 * Reads batch files into one split. Every file's size is checked before anything is allocated; with a
 * limit, only the records needed are read.
 */
async function readSplit(
  folder: string,
  files: readonly string[],
  limit: number | undefined,
  recordsPerFile: RecordsPerFile,
): Promise<ImageSplit> {
  const plan: { path: string; records: number }[] = [];
  let available = 0;
  for (const name of files) {
    const path = join(folder, name);
    if ((await pathKind(path)) !== 'file') {
      throw new DataNotFoundError(
        `CIFAR-10 batch file ${name} is missing from ${folder}; a complete copy holds ` +
          `${CIFAR10_BATCH_FILES.join(', ')}. Extract or download the archive again.`,
      );
    }
    const records = recordsInBatchFile(path, (await stat(path)).size, recordsPerFile);
    plan.push({ path, records });
    available += records;
  }
  const count = limit === undefined ? available : Math.min(limit, available);
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  const largest = Math.max(0, ...plan.map((p) => Math.min(p.records, count)));
  const buffer = new Uint8Array(largest * CIFAR10_RECORD_BYTES);
  let filled = 0;
  for (const { path, records } of plan) {
    if (filled >= count) break;
    const take = Math.min(records, count - filled);
    const wanted = take * CIFAR10_RECORD_BYTES;
    const handle = await open(path, 'r');
    try {
      let got = 0;
      while (got < wanted) {
        const { bytesRead } = await handle.read(buffer, got, wanted - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < wanted) {
        throw new CorruptFileError(path, `shrank while being read (${got} of ${wanted} bytes).`);
      }
    } finally {
      await handle.close();
    }
    decodeRecords(path, buffer, take, images, labels, filled);
    filled += take;
  }
  return { images, labels, count };
}

/** The class names from `batches.meta.txt` when the folder has one, else the standard ten. */
async function readLabelNames(folder: string): Promise<string[]> {
  const path = join(folder, CIFAR10_META_FILE);
  if ((await pathKind(path)) !== 'file') return [...CIFAR10_LABELS];
  return parseLabelNames(path, await readFile(path, 'utf8'));
}

/**
 * Reads a `cifar-10-batches-bin` folder: five training files, one test file, NHWC uint8 output.
 *
 * @throws DataNotFoundError when a batch file is missing.
 * @throws CorruptFileError when a file has the wrong size or a label outside 0-9.
 */
export async function readCifar10Folder(
  folder: string,
  options: Pick<Cifar10Options, 'trainLimit' | 'testLimit' | 'recordsPerFile'> = {},
): Promise<{ train: ImageSplit; test: ImageSplit; labelNames: string[] }> {
  checkLimit('trainLimit', options.trainLimit);
  checkLimit('testLimit', options.testLimit);
  const recordsPerFile = options.recordsPerFile ?? CIFAR10_RECORDS_PER_FILE;
  const labelNames = await readLabelNames(folder);
  const train = await readSplit(folder, CIFAR10_TRAIN_FILES, options.trainLimit, recordsPerFile);
  const test = await readSplit(folder, [CIFAR10_TEST_FILE], options.testLimit, recordsPerFile);
  return { train, test, labelNames };
}

/** Where the data will come from, before anything is read; no location means a download. */
interface Found {
  readonly location?: Cifar10Location;
  readonly origin: DataSource['origin'];
  /** When the location is an extraction in the cache: what is known of its archive. */
  readonly extracted?: CachedExtraction;
}

/** The source of an extraction found in the cache: verified when its archive's digest is a known one. */
function extractionSource(
  extracted: CachedExtraction,
  known: readonly Checksum[],
  onWarning: ((message: string) => void) | undefined,
): DataSource {
  const matched = extracted.digests
    ? findChecksum(extracted.digests, known)
    : known.find(
        (c) => c.algorithm === 'sha256' && c.hex.toLowerCase().startsWith(extracted.sha256Prefix),
      );
  if (matched === undefined) {
    onWarning?.(
      `${extracted.folder}: extracted earlier from an archive whose checksum is not that of a known ` +
        'CIFAR-10 archive (or was not recorded); its structure is checked and it is used as given.',
    );
  }
  return {
    origin: 'cache',
    path: extracted.folder,
    verified: matched !== undefined,
    ...(extracted.digests ? { checksum: extracted.digests } : {}),
    ...(matched?.description !== undefined ? { matched: matched.description } : {}),
  };
}

async function findCifar10(options: Cifar10Options, cacheDir: string): Promise<Found> {
  if (options.dataDir !== undefined) {
    const location = await locateCifar10(options.dataDir);
    if (location !== undefined) return { location, origin: 'data-dir' };
    const exists = (await pathKind(options.dataDir)) !== undefined;
    throw new DataNotFoundError(
      `--data-dir ${options.dataDir} ${exists ? 'holds no CIFAR-10 data' : 'does not exist'}. ` +
        `Point it at ${ACCEPTED_LAYOUTS}.`,
    );
  }
  const fromEnv = dataDirFromEnv();
  if (fromEnv !== undefined) {
    const location = await locateCifar10(fromEnv);
    if (location !== undefined) return { location, origin: 'env' };
    // A data root may serve other datasets only; a path that does not exist at all is a typo.
    if ((await pathKind(fromEnv)) === undefined) {
      throw new DataNotFoundError(
        `${DATA_ENV}=${fromEnv} does not exist. Point it at ${ACCEPTED_LAYOUTS}, or unset it.`,
      );
    }
  }
  const cached = await locateCifar10(cacheDir);
  if (cached !== undefined) return { location: cached, origin: 'cache' };
  // What an earlier load unpacked from an archive given by --data-dir, keyed by the archive's checksum.
  const extracted = (await findCachedExtractions(cacheDir))[0];
  if (extracted !== undefined) {
    return { location: { kind: 'folder', folder: extracted.folder }, origin: 'cache', extracted };
  }
  if (options.download === false) {
    throw new DataNotFoundError(
      `CIFAR-10 was not found${fromEnv !== undefined ? ` in ${DATA_ENV}=${fromEnv} or` : ''} in the ` +
        `cache (${cacheDir}), and downloads are off. ${LOCAL_COPY_HINT}`,
    );
  }
  return { origin: 'download' };
}

/**
 * Loads CIFAR-10 as NHWC uint8 images ([N, 32, 32, 3]) and byte labels.
 *
 * Sources, in order: `options.dataDir` (`--data-dir`), `$DYNAPRUNE_DATA`, the cache folder (a copy
 * placed there, or what an earlier load unpacked from an archive, which keeps the verdict on that
 * archive's checksum), and finally a
 * download of the official archive (unless `download: false`). See {@link locateCifar10} for the layouts
 * a source may have. An archive is extracted once into the cache and reused (see
 * {@link extractCifarArchive}).
 *
 * Checksums: a download must match the official archive's checksum, or one in `knownChecksums`, before
 * anything is used. A local archive is used even when its checksum is unknown; `source.verified` then
 * says false and `onWarning` is told. Folders cannot be verified; their structure always is.
 *
 * @throws DataNotFoundError when no source holds the data and downloads are off.
 * @throws DownloadError, ChecksumError when a download fails or does not match.
 * @throws CorruptFileError when a file is truncated, the wrong size, or has a label outside 0-9.
 */
export async function loadCifar10(options: Cifar10Options = {}): Promise<Dataset> {
  checkLimit('trainLimit', options.trainLimit);
  checkLimit('testLimit', options.testLimit);
  checkChecksums(options.knownChecksums ?? []);
  const extra = options.knownChecksums ?? [];
  const known = [...CIFAR10_CHECKSUMS, ...extra];
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  // Half-done extractions of killed processes (an 85 MB .partial folder each).
  await removeStaleTemporaries(cacheDir);
  const { location, origin, extracted: cached } = await findCifar10(options, cacheDir);

  let folder: string;
  let source: DataSource;
  if (location?.kind === 'folder') {
    folder = location.folder;
    source = cached
      ? extractionSource(cached, known, options.onWarning)
      : { origin, path: folder, verified: false };
  } else {
    let archive: string;
    let digests: Digests | undefined;
    if (location === undefined) {
      archive = join(cacheDir, CIFAR10_ARCHIVE);
      const downloaded = await downloadVerified(options.url ?? CIFAR10_URL, archive, {
        checksums: [CIFAR10_OFFICIAL_CHECKSUM, ...extra],
        offlineHint: LOCAL_COPY_HINT,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      digests = downloaded.digests;
    } else {
      archive = location.archive;
    }
    const extracted = await extractCifarArchive(archive, cacheDir, {
      ...(digests ? { digests } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    folder = extracted.folder;
    const matched = findChecksum(extracted.digests, known);
    if (matched === undefined) {
      options.onWarning?.(
        `${archive}: its checksum (sha256 ${extracted.digests.sha256}) is not that of a known CIFAR-10 ` +
          'archive; its structure was checked and it is used as given. Add the checksum to ' +
          'knownChecksums to mark it as verified.',
      );
    }
    source = {
      origin,
      path: archive,
      verified: matched !== undefined,
      checksum: extracted.digests,
      ...(matched?.description !== undefined ? { matched: matched.description } : {}),
    };
  }

  const data = await readCifar10Folder(folder, options);
  return {
    name: 'cifar10',
    train: data.train,
    test: data.test,
    inputShape: [32, 32, 3],
    numClasses: 10,
    labelNames: data.labelNames,
    source,
  };
}
