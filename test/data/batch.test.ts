// Float batches, seeded epoch order, and crop/flip augmentation checked against an explicit pad-then-crop oracle.
import { describe, expect, it } from 'vitest';
import {
  Augmenter,
  drawAugmentation,
  resolveAugmentOptions,
  writeAugmented,
  type AugmentDraw,
} from '../../src/data/augment.js';
import { epochBatches, epochOrder, makeBatch } from '../../src/data/batch.js';
import type { ImageShape, ImageSplit } from '../../src/data/types.js';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { Random } from '../../src/util/random.js';

/** `count` images of `shape` whose bytes cycle through 0..255; label i % 10. */
function split(count: number, shape: ImageShape): ImageSplit {
  const pixels = shape[0] * shape[1] * shape[2];
  return {
    images: new Uint8Array(count * pixels).map((_, i) => (i * 37 + 11) % 256),
    labels: new Uint8Array(count).map((_, i) => i % 10),
    count,
  };
}

/**
 * The definition, done the slow way: build the zero-padded image, cut the crop window at
 * (pad + dy, pad + dx), then mirror the columns.
 */
function oracle(image: Uint8Array, shape: ImageShape, pad: number, draw: AugmentDraw): number[] {
  const [h, w, c] = shape;
  const ph = h + 2 * pad;
  const pw = w + 2 * pad;
  const padded = new Array<number>(ph * pw * c).fill(0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++)
        padded[((y + pad) * pw + x + pad) * c + k] = image[(y * w + x) * c + k]!;
    }
  }
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const cx = draw.flip ? w - 1 - x : x;
      for (let k = 0; k < c; k++) {
        out.push(padded[((y + pad + draw.dy) * pw + cx + pad + draw.dx) * c + k]! / 255);
      }
    }
  }
  return out;
}

describe('batches', () => {
  const shape: ImageShape = [4, 3, 2];

  it('scales bytes to float32 in [0, 1] exactly as x / 255 and gathers labels as int32', () => {
    const s: ImageSplit = {
      images: Uint8Array.from({ length: 256 }, (_, i) => i),
      labels: new Uint8Array([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0,
        1,
      ]),
      count: 32,
    };
    const batch = makeBatch(
      s,
      [2, 2, 2],
      Array.from({ length: 32 }, (_, i) => i),
    );
    expect(batch.shape).toEqual([32, 2, 2, 2]);
    expect(batch.images).toBeInstanceOf(Float32Array);
    expect(batch.labels).toBeInstanceOf(Int32Array);
    for (let b = 0; b < 256; b++) expect(batch.images[b]).toBe(Math.fround(b / 255));
    expect(batch.images[0]).toBe(0);
    expect(batch.images[255]).toBe(1);
  });

  it('takes examples in the order of the indices, repeats included', () => {
    const s = split(6, shape);
    const batch = makeBatch(s, shape, [4, 1, 4]);
    expect(batch.size).toBe(3);
    expect(Array.from(batch.labels)).toEqual([4, 1, 4]);
    for (const [slot, index] of [
      [0, 4],
      [1, 1],
      [2, 4],
    ] as const) {
      for (let p = 0; p < 24; p++) {
        expect(batch.images[slot * 24 + p]).toBe(Math.fround(s.images[index * 24 + p]! / 255));
      }
    }
  });

  it('fills caller-owned buffers and checks their size', () => {
    const s = split(6, shape);
    const into = { images: new Float32Array(4 * 24), labels: new Int32Array(4) };
    const batch = makeBatch(s, shape, [5, 2], { into });
    expect(batch.images.buffer).toBe(into.images.buffer);
    expect(batch.images.length).toBe(48);
    expect(into.labels[0]).toBe(5);
    expect(() => makeBatch(s, shape, [0, 1, 2, 3, 4], { into })).toThrow(InvalidArgumentError);
  });

  it('rejects indices outside the split and splits that do not match the shape', () => {
    const s = split(6, shape);
    expect(() => makeBatch(s, shape, [0, 6])).toThrow(InvalidArgumentError);
    expect(() => makeBatch(s, shape, [-1])).toThrow(/outside the split's 6 examples/);
    expect(() => makeBatch(s, shape, [1.5])).toThrow(InvalidArgumentError);
    expect(() => makeBatch(s, [4, 4, 2], [0])).toThrow(ShapeMismatchError);
  });

  it('draws a seeded permutation per epoch', () => {
    const a = epochOrder(100, new Random(7));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(epochOrder(100, new Random(7))).toEqual(a);
    expect(epochOrder(100, new Random(8))).not.toEqual(a);
    const rng = new Random(7);
    expect(epochOrder(100, rng)).not.toEqual(epochOrder(100, rng));
  });

  it('iterates an epoch in batches, each example once, with or without the remainder', () => {
    const s = split(10, shape);
    const sizes = [...epochBatches(s, shape, { batchSize: 4 })].map((b) => b.size);
    expect(sizes).toEqual([4, 4, 2]);
    expect(
      [...epochBatches(s, shape, { batchSize: 4, dropRemainder: true })].map((b) => b.size),
    ).toEqual([4, 4]);
    const seen = [...epochBatches(s, shape, { batchSize: 3, shuffle: new Random(3) })].flatMap(
      (b) => Array.from(b.labels),
    );
    expect(seen.slice().sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = [...epochBatches(s, shape, { batchSize: 3, shuffle: new Random(3) })].flatMap(
      (b) => Array.from(b.labels),
    );
    expect(again).toEqual(seen);
    expect(() => epochBatches(s, shape, { batchSize: 0 }).next()).toThrow(InvalidArgumentError);
  });
});

describe('augmentation', () => {
  const shape: ImageShape = [5, 6, 2];
  const table = Float32Array.from({ length: 256 }, (_, b) => b / 255);

  it('matches explicit zero padding, cropping and mirroring for every offset', () => {
    const image = new Uint8Array(5 * 6 * 2).map((_, i) => 1 + ((i * 29) % 254));
    const pad = 2;
    for (let dy = -pad; dy <= pad; dy++) {
      for (let dx = -pad; dx <= pad; dx++) {
        for (const flip of [false, true]) {
          const draw = { dy, dx, flip };
          const out = new Float32Array(60);
          writeAugmented(image, 0, shape, draw, table, out, 0);
          const expected = oracle(image, shape, pad, draw).map((v) => Math.fround(v));
          expect(Array.from(out)).toEqual(expected);
        }
      }
    }
  });

  it('is the identity with no padding and no flip, and mirrors exactly with a flip', () => {
    const s = split(3, shape);
    const plain = makeBatch(s, shape, [0, 1, 2]);
    const none = new Augmenter(new Random(1), { cropPadding: 0, horizontalFlip: false });
    expect(makeBatch(s, shape, [0, 1, 2], { augment: none }).images).toEqual(plain.images);
    const out = new Float32Array(60);
    writeAugmented(s.images, 0, shape, { dy: 0, dx: 0, flip: true }, table, out, 0);
    // Row 2, column 1, channel 1 lands in row 2, column 4.
    expect(out[(2 * 6 + 4) * 2 + 1]).toBe(plain.images[(2 * 6 + 1) * 2 + 1]);
  });

  it('zero-fills what comes from the padding', () => {
    const image = new Uint8Array(60).fill(200);
    const out = new Float32Array(60).fill(-1);
    writeAugmented(image, 0, shape, { dy: 2, dx: -1, flip: false }, table, out, 0);
    // Content moves down-right: rows 3-4 (from rows 5-6) and column 0 (from column -1) are padding.
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 6; x++) {
        const padding = y >= 3 || x === 0;
        expect(out[(y * 6 + x) * 2]).toBe(padding ? 0 : Math.fround(200 / 255));
      }
    }
  });

  it('is deterministic for a seed, and covers every offset and both flips', () => {
    const s = split(40, shape);
    const indices = Array.from({ length: 40 }, (_, i) => i);
    const batchWith = (seed: number) =>
      makeBatch(s, shape, indices, {
        augment: new Augmenter(new Random(seed), { cropPadding: 2 }),
      });
    expect(batchWith(11).images).toEqual(batchWith(11).images);
    expect(batchWith(11).images).not.toEqual(batchWith(12).images);
    expect(batchWith(11).labels).toEqual(makeBatch(s, shape, indices).labels);

    const rng = new Random(5);
    const options = resolveAugmentOptions();
    expect(options).toEqual({ cropPadding: 4, horizontalFlip: true });
    const dys = new Set<number>();
    const dxs = new Set<number>();
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const d = drawAugmentation(rng, options);
      dys.add(d.dy);
      dxs.add(d.dx);
      if (d.flip) flips++;
    }
    const all = [-4, -3, -2, -1, 0, 1, 2, 3, 4];
    expect([...dys].sort((a, b) => a - b)).toEqual(all);
    expect([...dxs].sort((a, b) => a - b)).toEqual(all);
    expect(flips).toBeGreaterThan(800);
    expect(flips).toBeLessThan(1200);
  });

  it('rejects a negative or fractional padding', () => {
    expect(() => resolveAugmentOptions({ cropPadding: -1 })).toThrow(InvalidArgumentError);
    expect(() => new Augmenter(new Random(1), { cropPadding: 1.5 })).toThrow(/cropPadding/);
  });
});
