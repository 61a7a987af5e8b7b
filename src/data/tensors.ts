// Datasets as ready tfjs tensors (pixels scaled to [0, 1], class-index labels), Keras's `cifar10.load_data()` in one call.
import { tensor1d, tensor4d, type Tensor1D, type Tensor4D } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { ensureBackend } from '../util/ensure-backend.js';
import { loadDataset, type LoadDatasetOptions } from './registry.js';
import type { DataSource, ImageShape, ImageSplit } from './types.js';

/** Images and labels of one split, as tensors. */
export interface TensorSplit {
  /** [count, height, width, channels] float32 in [0, 1]. */
  readonly xs: Tensor4D;
  /**
   * [count] class indices as float32, which tfjs's `model.fit` accuracy metrics require (they floor the
   * labels); `sparseCategoricalCrossentropy` losses accept them as they are.
   */
  readonly ys: Tensor1D;
}

/** What {@link loadDatasetTensors} returns. The caller owns the tensors (see {@link disposeDataset}). */
export interface DatasetTensors {
  readonly name: string;
  readonly train: TensorSplit;
  /** The held-out tail of the training images, with `validationSplit`. */
  readonly validation?: TensorSplit;
  readonly test: TensorSplit;
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  readonly labelNames: readonly string[];
  /** Where the data came from and whether its checksum is a known one. */
  readonly source: DataSource;
}

/** Options of {@link loadDatasetTensors}: the loaders' options plus a validation split. */
export interface TensorLoadOptions extends LoadDatasetOptions {
  /**
   * Hold out this fraction of the training images, taken from the end (Keras's `validation_split`), as
   * `validation`. Default 0: none.
   */
  readonly validationSplit?: number;
}

function toTensors(split: ImageSplit, shape: ImageShape, from: number, to: number): TensorSplit {
  const size = shape[0] * shape[1] * shape[2];
  const bytes = split.images.subarray(from * size, to * size);
  const pixels = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) pixels[i] = bytes[i]! / 255;
  return {
    xs: tensor4d(pixels, [to - from, shape[0], shape[1], shape[2]]),
    ys: tensor1d(Float32Array.from(split.labels.subarray(from, to)), 'float32'),
  };
}

/**
 * Loads a registered dataset (`cifar10`, `fashion-mnist`, `mnist`) as tensors ready for `model.fit`:
 * images NHWC float32 scaled to [0, 1] (as in the paper), labels float32 class indices. Looks for the data where
 * {@link loadDataset} does (`dataDir`, $DYNAPRUNE_DATA, the cache, a verified download for CIFAR-10).
 * When no tfjs backend is active yet, starts dynaprune's choice first (`initBackend('auto')`); one
 * already active is kept.
 *
 * Memory: CIFAR-10's 50,000 training images take 614 MB as float32; `trainLimit` loads fewer.
 *
 * @throws InvalidArgumentError for a `validationSplit` outside [0, 1) or one that leaves no training image.
 */
export async function loadDatasetTensors(
  name: string,
  options: TensorLoadOptions = {},
): Promise<DatasetTensors> {
  const fraction = options.validationSplit ?? 0;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new InvalidArgumentError(`validationSplit must be in [0, 1), got ${fraction}.`);
  }
  await ensureBackend();
  const data = await loadDataset(name, options);
  const held = Math.round(data.train.count * fraction);
  const kept = data.train.count - held;
  if (kept < 1) {
    throw new InvalidArgumentError(
      `validationSplit ${fraction} leaves no training image out of ${data.train.count}.`,
    );
  }
  return {
    name: data.name,
    train: toTensors(data.train, data.inputShape, 0, kept),
    ...(held > 0
      ? { validation: toTensors(data.train, data.inputShape, kept, data.train.count) }
      : {}),
    test: toTensors(data.test, data.inputShape, 0, data.test.count),
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    labelNames: data.labelNames,
    source: data.source,
  };
}

/** CIFAR-10 as tensors: `loadDatasetTensors('cifar10', options)`. */
export function loadCifar10Tensors(options: TensorLoadOptions = {}): Promise<DatasetTensors> {
  return loadDatasetTensors('cifar10', options);
}

/** Frees every tensor of a loaded dataset. */
export function disposeDataset(data: DatasetTensors): void {
  for (const split of [data.train, data.validation, data.test]) {
    split?.xs.dispose();
    split?.ys.dispose();
  }
}
