// What the kernel tests share: seeded random inputs and the normwise relative error they are judged by.
import { expect } from 'vitest';
import type { Random } from '../../src/util/random.js';

/** Normwise relative error: max |got − want| / max |want| (the absolute error when want is all 0). */
export function relativeError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** `size` floats uniform in [−1, 1) from `rng`. */
export function randomArray(rng: Random, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
}
