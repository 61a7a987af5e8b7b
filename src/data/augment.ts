// Opt-in augmentation for batches: random crop with zero padding and random horizontal flip, seeded.
import { InvalidArgumentError } from '../errors.js';
import type { Random } from '../util/random.js';
import type { ImageShape } from './types.js';

/** Which augmentations to apply. The usual CIFAR-10 recipe is padding 4 with flips. */
export interface AugmentOptions {
  /**
   * Zero padding added on each side before a random crop back to the original size; 0 turns cropping
   * off. Default 4 (the CIFAR-10 standard: shifts of up to 4 pixels, 1/8 of the image).
   */
  readonly cropPadding?: number;
  /** Mirror left-right with probability 1/2. Default true. */
  readonly horizontalFlip?: boolean;
}

/** The random choices for one image. */
export interface AugmentDraw {
  /** Vertical shift of the content, in [-cropPadding, cropPadding]; output row r shows input row r + dy. */
  readonly dy: number;
  /** Horizontal shift, likewise (applied before the flip). */
  readonly dx: number;
  readonly flip: boolean;
}

/** Checked options with defaults filled in. */
export interface ResolvedAugmentOptions {
  readonly cropPadding: number;
  readonly horizontalFlip: boolean;
}

/** Fills in defaults and checks `cropPadding` is a non-negative integer. */
export function resolveAugmentOptions(options: AugmentOptions = {}): ResolvedAugmentOptions {
  const cropPadding = options.cropPadding ?? 4;
  if (!Number.isInteger(cropPadding) || cropPadding < 0) {
    throw new InvalidArgumentError(
      `cropPadding must be a non-negative integer number of pixels; got ${cropPadding}.`,
    );
  }
  return { cropPadding, horizontalFlip: options.horizontalFlip ?? true };
}

/**
 * Draws one image's augmentation from `rng`: dy, then dx (when cropping), then the flip (when flipping).
 * The order is fixed so that a seed always gives the same augmentations.
 */
export function drawAugmentation(rng: Random, options: ResolvedAugmentOptions): AugmentDraw {
  const pad = options.cropPadding;
  const dy = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0;
  const dx = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0;
  const flip = options.horizontalFlip && rng.nextInt(2) === 1;
  return { dy, dx, flip };
}

/**
 * Writes one augmented image into `out` at `outOffset`, as floats `table[byte]`: the image padded with
 * zeros, cropped at offset (dy, dx), then mirrored if `draw.flip`. Pixels that come from the padding are 0.
 */
export function writeAugmented(
  images: Uint8Array,
  imageOffset: number,
  shape: ImageShape,
  draw: AugmentDraw,
  table: Float32Array,
  out: Float32Array,
  outOffset: number,
): void {
  const [height, width, channels] = shape;
  for (let row = 0; row < height; row++) {
    const srcRow = row + draw.dy;
    const rowInside = srcRow >= 0 && srcRow < height;
    for (let col = 0; col < width; col++) {
      const dst = outOffset + (row * width + (draw.flip ? width - 1 - col : col)) * channels;
      const srcCol = col + draw.dx;
      if (!rowInside || srcCol < 0 || srcCol >= width) {
        out.fill(0, dst, dst + channels);
        continue;
      }
      const src = imageOffset + (srcRow * width + srcCol) * channels;
      for (let k = 0; k < channels; k++) out[dst + k] = table[images[src + k]!]!;
    }
  }
}

/** Draws and applies augmentations image by image, from one seeded generator. */
export class Augmenter {
  readonly options: ResolvedAugmentOptions;
  private readonly rng: Random;

  /** `rng` is consumed as images are augmented; pass a fork if it serves other purposes too. */
  constructor(rng: Random, options: AugmentOptions = {}) {
    this.options = resolveAugmentOptions(options);
    this.rng = rng;
  }

  /** The next image's random choices. */
  next(): AugmentDraw {
    return drawAugmentation(this.rng, this.options);
  }
}
