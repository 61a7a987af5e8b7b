// The datasets `--dataset` accepts: an explicit typed table, looked up by name.
import { UnknownNameError } from '../errors.js';
import { CIFAR10_LABELS } from './cifar10-format.js';
import { loadCifar10, type Cifar10Options } from './cifar10.js';
import { FASHION_MNIST_LABELS, loadFashionMnist, loadMnist, MNIST_LABELS } from './mnist.js';
import type { Dataset, ImageShape } from './types.js';

/**
 * Options every registered loader accepts. CIFAR-10's extra options (checksums, download) are ignored by
 * the MNIST-format loaders, which have nothing to download.
 */
export type LoadDatasetOptions = Cifar10Options;

/** One registered dataset: what it is, and how to load it. */
export interface DatasetInfo {
  readonly name: string;
  /** One line for `--help` and error messages. */
  readonly description: string;
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  readonly labelNames: readonly string[];
  /** Examples in the full training and test splits. */
  readonly trainCount: number;
  readonly testCount: number;
  load(options?: LoadDatasetOptions): Promise<Dataset>;
}

/** Every dataset dynaprune can load, by name. Nothing registers itself elsewhere. */
export const datasets = {
  cifar10: {
    name: 'cifar10',
    description:
      'CIFAR-10: 32x32 colour images in 10 classes (official binary layout; downloaded if absent)',
    inputShape: [32, 32, 3],
    numClasses: 10,
    labelNames: CIFAR10_LABELS,
    trainCount: 50000,
    testCount: 10000,
    load: loadCifar10,
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    description:
      'Fashion-MNIST: 28x28 clothing images in 10 classes (IDX files; Debian dataset-fashion-mnist)',
    inputShape: [28, 28, 1],
    numClasses: 10,
    labelNames: FASHION_MNIST_LABELS,
    trainCount: 60000,
    testCount: 10000,
    load: loadFashionMnist,
  },
  mnist: {
    name: 'mnist',
    description: 'MNIST: 28x28 handwritten digits (IDX files in --data-dir; no download)',
    inputShape: [28, 28, 1],
    numClasses: 10,
    labelNames: MNIST_LABELS,
    trainCount: 60000,
    testCount: 10000,
    load: loadMnist,
  },
} as const satisfies Record<string, DatasetInfo>;

/** A registered dataset name. */
export type DatasetName = keyof typeof datasets;

/** The registered names, in table order. */
export function datasetNames(): DatasetName[] {
  return Object.keys(datasets) as DatasetName[];
}

/** True when `name` is a registered dataset. */
export function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(datasets, name);
}

/**
 * The registered dataset called `name`.
 *
 * @throws UnknownNameError listing the valid names.
 */
export function getDataset(name: string): DatasetInfo {
  if (!isDatasetName(name)) throw new UnknownNameError('dataset', name, datasetNames());
  return datasets[name];
}

/**
 * Loads the dataset called `name` (see {@link loadCifar10}, {@link loadMnist},
 * {@link loadFashionMnist} for where each looks).
 *
 * @throws UnknownNameError listing the valid names, before anything is read.
 */
export async function loadDataset(
  name: string,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  return getDataset(name).load(options);
}
