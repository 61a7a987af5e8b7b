// The datasets `--dataset` accepts, and where each is looked for: --data-dir, $DYNAPRUNE_DATA, the cache, a download.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DataNotFoundError, UnknownNameError } from '../errors.js';
import type { ImageShape, ImageSplit } from '../train/batch.js';
import {
  CIFAR10_LABELS,
  defaultCacheDir,
  readCifar10,
  type CifarFolder,
} from './cifar10-reader.js';
import { downloadVerified, type Checksum, type DownloadProgress } from './download.js';
import { readIdxDataset } from './idx.js';

export type { DownloadProgress, Checksum };

/** The official CIFAR-10 binary archive. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';

/**
 * Digests of CIFAR-10 archives known to be good: the official one, and the losslessly rebuilt copy that
 * ships beside this project (its records are shuffled, so its bytes differ). Extend the list with
 * `knownChecksums`.
 */
export const CIFAR10_CHECKSUMS: readonly (Checksum & { readonly source: string })[] = [
  { algorithm: 'md5', hex: 'c32a1d4ab5d03f1284b67883e8d87530', source: 'official archive' },
  {
    algorithm: 'md5',
    hex: '66b94bcabd7b3816441352fc45309406',
    source: 'rebuilt copy (shared/data)',
  },
  {
    algorithm: 'sha256',
    hex: 'a87e0ceef0dd7f9fe65d62b79b0a74d52f3c2929c5927e4ed71bddcee4cacbb1',
    source: 'rebuilt copy (shared/data)',
  },
];

export const FASHION_MNIST_LABELS = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Debian's dataset-fashion-mnist package installs the files here. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export interface LoadDatasetOptions {
  /** A local copy; overrides $DYNAPRUNE_DATA. */
  readonly dataDir?: string;
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Default $DYNAPRUNE_CACHE or ~/.cache/dynaprune. */
  readonly cacheDir?: string;
  /** Allow downloading when no local copy is found (default true). */
  readonly download?: boolean;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** More archive digests to accept as verified, besides {@link CIFAR10_CHECKSUMS}. */
  readonly knownChecksums?: readonly Checksum[];
  /** Overrides the download URL (mirrors, tests). */
  readonly url?: string;
  /** Injectable fetch for tests. */
  readonly fetch?: typeof fetch;
  /** Records per CIFAR-10 batch file (10,000 in the official archive; tests write fewer). */
  readonly recordsPerFile?: number | 'any';
}

/** A loaded dataset: pixels as NHWC uint8, labels as bytes. */
export interface LoadedDataset {
  readonly name: string;
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  readonly labelNames: readonly string[];
  /** Where the data came from and whether its checksum is a known one. */
  readonly source: {
    readonly path: string;
    readonly verified: boolean;
    readonly checksum?: string;
  };
}

export interface DatasetSpec {
  readonly name: string;
  readonly description: string;
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  load(options: LoadDatasetOptions): Promise<LoadedDataset>;
}

const exists = async (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

function describeSource(found: CifarFolder, known: readonly Checksum[]): LoadedDataset['source'] {
  if (!found.archive) return { path: found.folder, verified: false };
  const { md5, sha256, path } = found.archive;
  const verified = known.some(
    (c) => (c.algorithm === 'md5' ? md5 : sha256) === c.hex.toLowerCase(),
  );
  return { path, verified, checksum: `sha256 ${sha256}` };
}

async function loadCifar10(options: LoadDatasetOptions): Promise<LoadedDataset> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const known = [...CIFAR10_CHECKSUMS, ...(options.knownChecksums ?? [])];
  const read = async (path: string) => {
    const data = await readCifar10(path, {
      cacheDir,
      ...(options.trainLimit !== undefined ? { trainLimit: options.trainLimit } : {}),
      ...(options.testLimit !== undefined ? { testLimit: options.testLimit } : {}),
      ...(options.recordsPerFile !== undefined ? { recordsPerFile: options.recordsPerFile } : {}),
    });
    return {
      name: 'cifar10',
      train: data.train,
      test: data.test,
      inputShape: [32, 32, 3] as const,
      numClasses: 10,
      labelNames: data.labelNames,
      source: describeSource(data.source, known),
    };
  };
  const local = options.dataDir ?? process.env['DYNAPRUNE_DATA'];
  if (local !== undefined) {
    if (!(await exists(local))) {
      throw new DataNotFoundError(
        `CIFAR-10 data directory ${local} does not exist` +
          (options.dataDir === undefined ? ' (from $DYNAPRUNE_DATA).' : ' (from --data-dir).'),
      );
    }
    return read(local);
  }
  const cachedArchive = join(cacheDir, 'cifar-10-binary.tar.gz');
  if (await exists(cachedArchive)) return read(cachedArchive);
  if (options.download === false) {
    throw new DataNotFoundError(
      `CIFAR-10 is not in the cache (${cacheDir}) and downloads are off. Use --data-dir PATH or ` +
        'DYNAPRUNE_DATA=PATH with a local copy (the cifar-10-batches-bin folder or cifar-10-binary.tar.gz).',
    );
  }
  await downloadVerified(options.url ?? CIFAR10_URL, cachedArchive, {
    // A download must be the official archive (or one the caller vouches for), checked before use.
    checksums: [CIFAR10_CHECKSUMS[0]!, ...(options.knownChecksums ?? [])],
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    offlineHint:
      'To use a local copy instead, pass --data-dir PATH or set DYNAPRUNE_DATA=PATH (the ' +
      'cifar-10-batches-bin folder or cifar-10-binary.tar.gz).',
  });
  return read(cachedArchive);
}

function idxDataset(name: 'mnist' | 'fashion-mnist'): DatasetSpec {
  const labelNames =
    name === 'mnist' ? Array.from({ length: 10 }, (_, i) => String(i)) : [...FASHION_MNIST_LABELS];
  return {
    name,
    description:
      name === 'mnist'
        ? 'MNIST handwritten digits (IDX files in --data-dir; no download source is reachable here)'
        : `Fashion-MNIST (IDX files; default ${FASHION_MNIST_DEFAULT_DIR}, Debian package dataset-fashion-mnist)`,
    inputShape: [28, 28, 1],
    numClasses: 10,
    async load(options) {
      const dir =
        options.dataDir ??
        process.env['DYNAPRUNE_DATA'] ??
        (name === 'fashion-mnist' ? FASHION_MNIST_DEFAULT_DIR : undefined);
      if (dir === undefined || !(await exists(dir))) {
        throw new DataNotFoundError(
          `No ${name} files found${dir ? ` in ${dir}` : ''}. Put train-images-idx3-ubyte(.gz), ` +
            'train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz) in a ' +
            'folder and pass it with --data-dir' +
            (name === 'fashion-mnist' ? ", or install Debian's dataset-fashion-mnist." : '.'),
        );
      }
      const data = await readIdxDataset(dir, {
        ...(options.trainLimit !== undefined ? { trainLimit: options.trainLimit } : {}),
        ...(options.testLimit !== undefined ? { testLimit: options.testLimit } : {}),
      });
      return { name, ...data, numClasses: 10, labelNames, source: { path: dir, verified: false } };
    },
  };
}

export const datasets: readonly DatasetSpec[] = [
  {
    name: 'cifar10',
    description: 'CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, 10 classes',
    inputShape: [32, 32, 3],
    numClasses: 10,
    load: loadCifar10,
  },
  idxDataset('fashion-mnist'),
  idxDataset('mnist'),
];

export const datasetNames = (): string[] => datasets.map((d) => d.name);

/** Looks a dataset up by name; throws UnknownNameError listing the valid names. */
export function getDataset(name: string): DatasetSpec {
  const spec = datasets.find((d) => d.name === name);
  if (spec === undefined) throw new UnknownNameError('dataset', name, datasetNames());
  return spec;
}

export async function loadDataset(
  name: string,
  options: LoadDatasetOptions = {},
): Promise<LoadedDataset> {
  return getDataset(name).load(options);
}

export { CIFAR10_LABELS };
