// Loads MNIST and Fashion-MNIST from the four standard IDX files in a folder (gzipped or raw).
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import { readIdxFile, type IdxArray } from './idx.js';
import { DATA_ENV, dataDirFromEnv, defaultCacheDir, pathKind } from './paths.js';
import {
  checkLimit,
  type CommonLoadOptions,
  type DataSource,
  type Dataset,
  type ImageSplit,
} from './types.js';

/** The four files of an MNIST-format dataset, by their standard names (each may also end in `.gz`). */
export const IDX_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Debian's dataset-fashion-mnist package installs the files here. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

export const MNIST_LABELS: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Fashion-MNIST's classes (Xiao, Rasul and Vollgraf, 2017), indexed by label. */
export const FASHION_MNIST_LABELS: readonly string[] = [
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
];

/** Options of the MNIST-format loaders. */
export type IdxDatasetOptions = CommonLoadOptions;

/** The names a file may have: `train-images-idx3-ubyte`, its `.gz`, and the dotted `train-images.idx3-ubyte` some mirrors use. */
function candidateNames(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

async function findFile(dir: string, base: string): Promise<string | undefined> {
  for (const name of candidateNames(base)) {
    const path = join(dir, name);
    if ((await pathKind(path)) === 'file') return path;
  }
  return undefined;
}

/**
 * Finds the MNIST-format files of dataset `name` at `dir`: in `dir` itself, or in `dir/<name>/` (so one
 * data root can serve every dataset). A folder counts as soon as it holds one of the four files; a
 * missing sibling is then reported by name. Returns undefined when neither holds any.
 */
export async function locateIdxFolder(dir: string, name: string): Promise<string | undefined> {
  for (const folder of [dir, join(dir, name)]) {
    if ((await pathKind(folder)) !== 'dir') continue;
    for (const base of Object.values(IDX_FILE_NAMES)) {
      if ((await findFile(folder, base)) !== undefined) return folder;
    }
  }
  return undefined;
}

async function readRequired(dir: string, base: string): Promise<IdxArray> {
  const path = await findFile(dir, base);
  if (path === undefined) {
    throw new DataNotFoundError(
      `${base} (or ${base}.gz) is missing from ${dir}; an MNIST-format folder holds ` +
        `${Object.values(IDX_FILE_NAMES).join(', ')} (each raw or gzipped).`,
    );
  }
  return readIdxFile(path);
}

async function readSplit(
  dir: string,
  imagesBase: string,
  labelsBase: string,
  limit: number | undefined,
  numClasses: number,
): Promise<{ split: ImageSplit; height: number; width: number }> {
  const images = await readRequired(dir, imagesBase);
  const labels = await readRequired(dir, labelsBase);
  if (images.dims.length !== 3) {
    throw new CorruptFileError(
      join(dir, imagesBase),
      `has dimensions ${images.dims.join('x')}; an image file has three: [N, height, width].`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new CorruptFileError(
      join(dir, labelsBase),
      `has dimensions ${labels.dims.join('x')}; a label file has one: [N].`,
    );
  }
  const [n, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw new CorruptFileError(
      join(dir, labelsBase),
      `holds ${labels.dims[0]} labels but ${imagesBase} holds ${n} images; they must match.`,
    );
  }
  const count = limit === undefined ? n : Math.min(limit, n);
  for (let i = 0; i < count; i++) {
    if (labels.data[i]! >= numClasses) {
      throw new CorruptFileError(
        join(dir, labelsBase),
        `label ${labels.data[i]} at index ${i} is out of range; expected 0 to ${numClasses - 1}.`,
      );
    }
  }
  // Copies: the parsed arrays are views into whole decompressed files, header included. (Buffer's own
  // slice() would return another view, hence the Uint8Array constructor.)
  const split = {
    images: new Uint8Array(images.data.subarray(0, count * height * width)),
    labels: new Uint8Array(labels.data.subarray(0, count)),
    count,
  };
  return { split, height, width };
}

/**
 * Reads the four MNIST-format files in `dir` into NHWC uint8 splits ([N, H, W, 1]).
 *
 * @throws DataNotFoundError when a file is missing.
 * @throws CorruptFileError when a file is corrupt, images and labels disagree, or a label is out of range.
 */
export async function readIdxFolder(
  dir: string,
  options: Pick<CommonLoadOptions, 'trainLimit' | 'testLimit'> & {
    readonly numClasses?: number;
  } = {},
): Promise<{ train: ImageSplit; test: ImageSplit; inputShape: [number, number, number] }> {
  checkLimit('trainLimit', options.trainLimit);
  checkLimit('testLimit', options.testLimit);
  const numClasses = options.numClasses ?? 10;
  const f = IDX_FILE_NAMES;
  const train = await readSplit(dir, f.trainImages, f.trainLabels, options.trainLimit, numClasses);
  const test = await readSplit(dir, f.testImages, f.testLabels, options.testLimit, numClasses);
  if (train.height !== test.height || train.width !== test.width) {
    throw new CorruptFileError(
      dir,
      `training images are ${train.height}x${train.width} but test images are ${test.height}x${test.width}.`,
    );
  }
  return { train: train.split, test: test.split, inputShape: [train.height, train.width, 1] };
}

/** What distinguishes one MNIST-format dataset from another. */
interface IdxDatasetSpec {
  readonly name: string;
  readonly title: string;
  readonly labelNames: readonly string[];
  /** A folder a system package installs the files into. */
  readonly systemDir?: string;
}

function notFound(
  spec: IdxDatasetSpec,
  looked: readonly string[],
  cache: string,
): DataNotFoundError {
  const files = Object.values(IDX_FILE_NAMES)
    .map((f) => `${f}(.gz)`)
    .join(', ');
  return new DataNotFoundError(
    `${spec.title} was not found (looked in ${looked.join(', ')}). It cannot be downloaded from here: ` +
      `put ${files} in a folder and pass it with --data-dir PATH or ${DATA_ENV}=PATH, or put them in ` +
      `${cache}.` +
      (spec.systemDir !== undefined
        ? ` On Debian, apt-get install dataset-${spec.name} puts them in ${spec.systemDir}.`
        : ''),
  );
}

async function findIdxFolder(
  spec: IdxDatasetSpec,
  options: CommonLoadOptions,
): Promise<{ folder: string; origin: DataSource['origin'] }> {
  const cache = join(options.cacheDir ?? defaultCacheDir(), spec.name);
  if (options.dataDir !== undefined) {
    const folder = await locateIdxFolder(options.dataDir, spec.name);
    if (folder !== undefined) return { folder, origin: 'data-dir' };
    throw notFound(spec, [`--data-dir ${options.dataDir}`], cache);
  }
  const looked: string[] = [];
  const fromEnv = dataDirFromEnv();
  if (fromEnv !== undefined) {
    // A data root may hold other datasets only, so it falls through; a path that does not exist is a typo.
    if ((await pathKind(fromEnv)) === undefined) {
      throw new DataNotFoundError(`${DATA_ENV}=${fromEnv} does not exist. Fix it, or unset it.`);
    }
    const folder = await locateIdxFolder(fromEnv, spec.name);
    if (folder !== undefined) return { folder, origin: 'env' };
    looked.push(`${DATA_ENV}=${fromEnv}`);
  }
  const cached = await locateIdxFolder(cache, spec.name);
  if (cached !== undefined) return { folder: cached, origin: 'cache' };
  looked.push(cache);
  if (spec.systemDir !== undefined) {
    const system = await locateIdxFolder(spec.systemDir, spec.name);
    if (system !== undefined) return { folder: system, origin: 'system' };
    looked.push(spec.systemDir);
  }
  throw notFound(spec, looked, cache);
}

async function loadIdxDataset(spec: IdxDatasetSpec, options: CommonLoadOptions): Promise<Dataset> {
  checkLimit('trainLimit', options.trainLimit);
  checkLimit('testLimit', options.testLimit);
  const { folder, origin } = await findIdxFolder(spec, options);
  const data = await readIdxFolder(folder, {
    trainLimit: options.trainLimit,
    testLimit: options.testLimit,
    numClasses: spec.labelNames.length,
  });
  const [height, width] = data.inputShape;
  if (height !== 28 || width !== 28) {
    throw new CorruptFileError(
      folder,
      `holds ${height}x${width} images; ${spec.title} images are 28x28. Is this another dataset?`,
    );
  }
  return {
    name: spec.name,
    train: data.train,
    test: data.test,
    inputShape: [28, 28, 1],
    numClasses: spec.labelNames.length,
    labelNames: [...spec.labelNames],
    source: { origin, path: folder, verified: false },
  };
}

/**
 * Loads MNIST (LeCun et al., 1998) from the four IDX files. Sources, in order: `dataDir`
 * (`--data-dir`), $DYNAPRUNE_DATA, `<cache>/mnist/`; each may hold the files directly or in an `mnist/`
 * subfolder. There is no download: without the files this throws a DataNotFoundError saying where to
 * put them.
 */
export function loadMnist(options: IdxDatasetOptions = {}): Promise<Dataset> {
  return loadIdxDataset({ name: 'mnist', title: 'MNIST', labelNames: MNIST_LABELS }, options);
}

/**
 * Loads Fashion-MNIST from the four IDX files. Sources, in order: `dataDir` (`--data-dir`),
 * $DYNAPRUNE_DATA, `<cache>/fashion-mnist/`, then {@link FASHION_MNIST_SYSTEM_DIR} (Debian's
 * dataset-fashion-mnist package).
 */
export function loadFashionMnist(options: IdxDatasetOptions = {}): Promise<Dataset> {
  return loadIdxDataset(
    {
      name: 'fashion-mnist',
      title: 'Fashion-MNIST',
      labelNames: FASHION_MNIST_LABELS,
      systemDir: FASHION_MNIST_SYSTEM_DIR,
    },
    options,
  );
}
