// A fixed validation split: the last N training images held out, the first ones trained on.
import { InvalidArgumentError } from '../errors.js';
import type { ImageSplit } from './types.js';

/**
 * Holds out the last `validation` images of `train` (fixed: no shuffling, so every run and method sees
 * the same split) and trains on the first `trainLimit` of the rest (default all of them). Views, no copy.
 */
export function holdOutValidation(
  train: ImageSplit,
  validation: number,
  trainLimit?: number,
): { train: ImageSplit; validation: ImageSplit } {
  if (!Number.isInteger(validation) || validation <= 0 || validation >= train.count) {
    throw new InvalidArgumentError(
      `The validation split must hold between 1 and ${train.count - 1} of the ${train.count} training ` +
        `images, got ${validation}. Use a smaller --validation.`,
    );
  }
  const pixels = train.images.length / train.count;
  const available = train.count - validation;
  const count = Math.min(trainLimit ?? available, available);
  const slice = (start: number, n: number): ImageSplit => ({
    images: train.images.subarray(start * pixels, (start + n) * pixels),
    labels: train.labels.subarray(start, start + n),
    count: n,
  });
  return { train: slice(0, count), validation: slice(available, validation) };
}
