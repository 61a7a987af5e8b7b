// Seeded random numbers with a serializable state, so masks and data order are reproducible and resumable.
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** The serialized form of a {@link Random}; store it in checkpoints. */
export interface RandomState {
  readonly algorithm: 'xoroshiro128plus';
  readonly state: readonly number[];
}

/**
 * A seeded pseudo-random generator (xoroshiro128+ from pure-rand).
 * Every random choice in dynaprune takes one of these from the caller; nothing uses Math.random.
 */
export class Random {
  private gen: RandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
    // Small seeds leave xoroshiro's first outputs poorly mixed; a short warm-up fixes that.
    for (let i = 0; i < 16; i++) this.gen.next();
  }

  /** Rebuilds a generator from {@link Random.getState}'s output. */
  static fromState(state: RandomState): Random {
    const r = new Random(0);
    r.gen = xoroshiro128plusFromState(state.state);
    return r;
  }

  getState(): RandomState {
    return { algorithm: 'xoroshiro128plus', state: [...this.gen.getState()] };
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    return this.gen.next() >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!(n > 0 && n <= 0x100000000 && Number.isInteger(n))) {
      throw new RangeError(`nextInt expects an integer in (0, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const v = this.nextUint32();
      if (v < limit) return v % n;
    }
  }

  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A new generator seeded from this one, for an independent stream (for example one per layer). */
  fork(): Random {
    return new Random(this.nextUint32() | 0);
  }
}
