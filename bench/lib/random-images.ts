// Seeded random 32x32x3 images with cycling labels, for runs where speed or bits matter and accuracy does not.
import type { ImageSplit } from '../../src/data/types.js';

/**
 * `count` CIFAR-shaped images (3,072 bytes each) of pixels from a fixed linear congruential generator, and
 * labels 0..9 in turn. The same call gives the same bytes in every process, so throughput runs and the
 * thread-count test train on identical data.
 */
export function randomImages(count: number): ImageSplit {
  const images = new Uint8Array(count * 3072);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count };
}
