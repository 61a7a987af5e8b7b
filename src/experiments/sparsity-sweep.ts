// A sparsity sweep of a loaded network: accuracy, batch-1 latency and switch time at each further-pruned point.
import type { PruneScope } from '../graph/prune.js';
import type { SweepPoint } from '../report/sweep-chart.js';
import { measureAccuracy, measureLatency } from '../runtime/measure.js';
import type { Network } from '../runtime/network.js';

// The point type lives with its chart, a floor below (docs/STRUCTURE.md); callers find it here too.
export type { SweepPoint };

export interface SweepOptions {
  readonly scope?: PruneScope;
  /** Images used for latency (the first ones); default 64. */
  readonly latencyImages?: number;
  readonly latencyRounds?: number;
  readonly clock?: () => number;
  /** Called after each point, for progress lines. */
  readonly onPoint?: (point: SweepPoint) => void;
}

/**
 * Measures `net` at the stored weights and then at each sparsity of `targets` (ascending order is fastest but
 * not required), on `count` scaled images with their labels; leaves the network at the stored weights.
 */
export function sparsitySweep(
  net: Network,
  images: Float32Array,
  labels: ArrayLike<number>,
  count: number,
  targets: readonly number[],
  options: SweepOptions = {},
): SweepPoint[] {
  const clock = options.clock ?? (() => performance.now());
  const points: SweepPoint[] = [];
  for (const target of [0, ...targets]) {
    const t0 = clock();
    const layers = net.setSparsity(target, options.scope ? { scope: options.scope } : {});
    const switchMs = clock() - t0;
    const nnz = layers.reduce((a, l) => a + l.nnz, 0);
    const size = layers.reduce((a, l) => a + l.size, 0);
    const point: SweepPoint = {
      target,
      sparsity: 1 - nnz / size,
      nnz,
      accuracy: measureAccuracy(net, images, labels, count).accuracy,
      latencyMs: measureLatency(net, images, Math.min(count, options.latencyImages ?? 64), {
        rounds: options.latencyRounds ?? 15,
        runsPerRound: 10,
        clock,
      }),
      switchMs,
      layers,
    };
    points.push(point);
    options.onPoint?.(point);
  }
  net.setSparsity(0);
  return points;
}
