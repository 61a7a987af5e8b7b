// Turns uint8 NHWC images into float batches scaled to [0, 1], optionally augmented.
import type { Random } from '../util/random.js';

/** A set of labelled images: `count` images, NHWC uint8, one label byte each. */
export interface ImageSplit {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** One example's shape: [height, width, channels]. */
export type ImageShape = readonly [number, number, number];

/** Opt-in augmentation: random crop with zero padding, and random horizontal flip. */
export interface Augmentation {
  /** Zero padding on each side before a random crop back to the original size (4 for CIFAR). */
  readonly cropPadding: number;
  /** Flip left-right with probability 1/2. */
  readonly horizontalFlip: boolean;
}

/**
 * Writes the images `order[start .. start + size)` of `split` into `x` (floats in [0, 1]) and their labels
 * into `y`. With `augment`, each image gets an independent random crop offset and flip from `rng`.
 */
export function fillBatch(
  split: ImageSplit,
  shape: ImageShape,
  order: ArrayLike<number>,
  start: number,
  size: number,
  x: Float32Array,
  y: Int32Array,
  augment?: { readonly options: Augmentation; readonly rng: Random },
): void {
  const [h, w, c] = shape;
  const pixels = h * w * c;
  const scale = 1 / 255;
  for (let i = 0; i < size; i++) {
    const index = order[start + i]!;
    y[i] = split.labels[index]!;
    const src = index * pixels;
    const dst = i * pixels;
    if (augment === undefined) {
      for (let p = 0; p < pixels; p++) x[dst + p] = split.images[src + p]! * scale;
      continue;
    }
    const pad = augment.options.cropPadding;
    const dy = pad > 0 ? augment.rng.nextInt(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? augment.rng.nextInt(2 * pad + 1) - pad : 0;
    const flip = augment.options.horizontalFlip && augment.rng.nextInt(2) === 1;
    for (let row = 0; row < h; row++) {
      const srcRow = row + dy;
      for (let col = 0; col < w; col++) {
        const outCol = flip ? w - 1 - col : col;
        const srcCol = col + dx;
        const out = dst + (row * w + outCol) * c;
        if (srcRow < 0 || srcRow >= h || srcCol < 0 || srcCol >= w) {
          for (let k = 0; k < c; k++) x[out + k] = 0;
        } else {
          const from = src + (srcRow * w + srcCol) * c;
          for (let k = 0; k < c; k++) x[out + k] = split.images[from + k]! * scale;
        }
      }
    }
  }
}
