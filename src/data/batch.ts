// Builds float batches (NHWC, pixels scaled to [0, 1]) and int32 labels from a split, plus seeded epoch order.
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { Random } from '../util/random.js';
import { writeAugmented, type Augmenter } from './augment.js';
import type { ImageShape, ImageSplit } from './types.js';

/** A batch ready to become tensors: images NHWC float32 in [0, 1], labels int32 (sparse class ids). */
export interface Batch {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  /** Examples in the batch. */
  readonly size: number;
  /** [size, height, width, channels]. */
  readonly shape: readonly [number, number, number, number];
}

/** Options of {@link makeBatch}. */
export interface BatchOptions {
  /** Augments each image with the augmenter's next draw, in the order of `indices`. Default: none. */
  readonly augment?: Augmenter;
  /**
   * Arrays to fill instead of allocating new ones, for loops that reuse one buffer; each must hold at
   * least a full batch. The returned batch then views their first `size` examples.
   */
  readonly into?: { readonly images: Float32Array; readonly labels: Int32Array };
}

/**
 * Byte to float: b / 255 rounded once to float32, as the paper's `x / 255.0` gives. A table is both
 * faster than dividing and bit-identical for every byte.
 */
const UNIT_SCALE = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** Throws ShapeMismatchError unless `split` holds `count` images of `shape`. */
export function checkSplit(split: ImageSplit, shape: ImageShape): void {
  const pixels = shape[0] * shape[1] * shape[2];
  if (split.images.length !== split.count * pixels || split.labels.length !== split.count) {
    throw new ShapeMismatchError(
      `The split claims ${split.count} images of ${shape.join('x')} (${split.count * pixels} bytes, ` +
        `${split.count} labels) but holds ${split.images.length} bytes and ${split.labels.length} labels.`,
    );
  }
}

/**
 * Gathers the examples `indices` of `split` into one batch: pixels as float32 in [0, 1], labels as int32.
 * With `options.augment`, each image gets its own crop and flip, drawn in the order of `indices`, so a
 * given seed always yields the same batch.
 *
 * @throws InvalidArgumentError when an index is not an integer in [0, split.count), or `into` is too small.
 * @throws ShapeMismatchError when the split's arrays do not match `shape`.
 */
export function makeBatch(
  split: ImageSplit,
  shape: ImageShape,
  indices: ArrayLike<number>,
  options: BatchOptions = {},
): Batch {
  checkSplit(split, shape);
  const pixels = shape[0] * shape[1] * shape[2];
  const size = indices.length;
  let images: Float32Array;
  let labels: Int32Array;
  if (options.into !== undefined) {
    if (options.into.images.length < size * pixels || options.into.labels.length < size) {
      throw new InvalidArgumentError(
        `The batch buffers hold ${options.into.images.length} floats and ${options.into.labels.length} ` +
          `labels; a batch of ${size} needs ${size * pixels} and ${size}.`,
      );
    }
    images = options.into.images.subarray(0, size * pixels);
    labels = options.into.labels.subarray(0, size);
  } else {
    images = new Float32Array(size * pixels);
    labels = new Int32Array(size);
  }
  for (let i = 0; i < size; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= split.count) {
      throw new InvalidArgumentError(
        `Batch index ${index} (position ${i}) is outside the split's ${split.count} examples.`,
      );
    }
    labels[i] = split.labels[index]!;
    const src = index * pixels;
    const dst = i * pixels;
    if (options.augment !== undefined) {
      writeAugmented(split.images, src, shape, options.augment.next(), UNIT_SCALE, images, dst);
    } else {
      for (let p = 0; p < pixels; p++) images[dst + p] = UNIT_SCALE[split.images[src + p]!]!;
    }
  }
  return { images, labels, size, shape: [size, shape[0], shape[1], shape[2]] };
}

/** A seeded random permutation of 0 .. count-1: one epoch's example order. */
export function epochOrder(count: number, rng: Random): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return rng.shuffle(order);
}

/** Options of {@link epochBatches}. */
export interface EpochBatchOptions {
  /** Examples per batch; the last batch may be smaller unless `dropRemainder`. */
  readonly batchSize: number;
  /** Shuffles the epoch's order with this generator; without it, examples come in split order. */
  readonly shuffle?: Random;
  /** Augments every image (see {@link makeBatch}). */
  readonly augment?: Augmenter;
  /** Skips a final batch smaller than `batchSize`. Default false. */
  readonly dropRemainder?: boolean;
}

/**
 * One epoch of batches over `split`, each freshly allocated (safe to keep). The order is drawn once, at
 * the first batch, from `options.shuffle`.
 */
export function* epochBatches(
  split: ImageSplit,
  shape: ImageShape,
  options: EpochBatchOptions,
): Generator<Batch, void, undefined> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidArgumentError(`batchSize must be a positive integer; got ${batchSize}.`);
  }
  checkSplit(split, shape);
  let order: Uint32Array;
  if (options.shuffle !== undefined) {
    order = epochOrder(split.count, options.shuffle);
  } else {
    order = new Uint32Array(split.count);
    for (let i = 0; i < split.count; i++) order[i] = i;
  }
  const end = options.dropRemainder ? split.count - (split.count % batchSize) : split.count;
  for (let start = 0; start < end; start += batchSize) {
    const indices = order.subarray(start, Math.min(start + batchSize, end));
    yield makeBatch(split, shape, indices, options.augment ? { augment: options.augment } : {});
  }
}
