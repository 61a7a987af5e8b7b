// Accuracy and batch-1 latency of a network on labelled images: one operating point of a sparsity sweep.
import type { Network } from './network.js';

export interface AccuracyResult {
  readonly correct: number;
  readonly count: number;
  /** correct / count. */
  readonly accuracy: number;
  /** The predicted class of each image. */
  readonly predictions: Uint8Array;
}

/** The index of the largest of `row`. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Top-1 accuracy of `net` on `count` images (network layout, scaled), in batches of `batch`. */
export function measureAccuracy(
  net: Network,
  images: Float32Array,
  labels: ArrayLike<number>,
  count: number,
  batch = 64,
): AccuracyResult {
  const per = net.inputShape.reduce((a, b) => a * b, 1);
  const classes = net.outputShape.reduce((a, b) => a * b, 1);
  const predictions = new Uint8Array(count);
  let correct = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const out = net.predict(images.subarray(start * per, (start + n) * per), n);
    for (let i = 0; i < n; i++) {
      const p = argmax(out.subarray(i * classes, (i + 1) * classes));
      predictions[start + i] = p;
      if (p === labels[start + i]) correct++;
    }
  }
  return { correct, count, accuracy: correct / count, predictions };
}

/**
 * Milliseconds per batch-1 prediction: the median over `rounds` of the mean of `runsPerRound` predictions
 * (cycling over the first `count` images), after `warmup` untimed ones. Averaging within a round keeps small
 * models measurable where the clock is coarse (browsers round performance.now to 0.1 ms). The clock is
 * injectable; by default performance.now.
 */
export function measureLatency(
  net: Network,
  images: Float32Array,
  count: number,
  options: { rounds?: number; runsPerRound?: number; warmup?: number; clock?: () => number } = {},
): number {
  const per = net.inputShape.reduce((a, b) => a * b, 1);
  const { rounds = 7, runsPerRound = 5, warmup = 3 } = options;
  const clock = options.clock ?? (() => performance.now());
  const run = (r: number) => {
    const i = r % count;
    net.predict(images.subarray(i * per, (i + 1) * per), 1);
  };
  for (let r = 0; r < warmup; r++) run(r);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = clock();
    for (let r = 0; r < runsPerRound; r++) run(warmup + round * runsPerRound + r);
    times.push((clock() - t0) / runsPerRound);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}
