// The chart of a sparsity sweep: test accuracy against batch-1 latency, one labelled point per sparsity.
import type { TopLevelSpec } from 'vega-lite';
import type { PrunedLayer } from '../graph/prune.js';

/** One operating point. `target` 0 is the stored weights. */
export interface SweepPoint {
  readonly target: number;
  /** Sparsity over all weight layers at this point: 1 − nnz / size. */
  readonly sparsity: number;
  readonly nnz: number;
  readonly accuracy: number;
  /** Milliseconds per batch-1 prediction (median of rounds). */
  readonly latencyMs: number;
  /** Milliseconds setSparsity took to reach this point from the previous one. */
  readonly switchMs: number;
  readonly layers: readonly PrunedLayer[];
}

/** Accuracy (%) against latency (ms), points joined in order of sparsity and labelled with it. */
export function sweepChart(points: readonly SweepPoint[], title: string): TopLevelSpec {
  // A target at or below the stored sparsity repeats the stored point: chart it once.
  const distinct = points.filter((p, i) => points.findIndex((q) => q.nnz === p.nnz) === i);
  const values = distinct.map((p) => ({
    latency: p.latencyMs,
    accuracy: 100 * p.accuracy,
    label:
      p.target === 0
        ? `stored ${(100 * p.sparsity).toFixed(1)}%`
        : `${(100 * p.sparsity).toFixed(1)}%`,
    sparsity: p.sparsity,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 260,
    data: { values },
    encoding: {
      x: {
        field: 'latency',
        type: 'quantitative',
        title: 'batch-1 latency (ms)',
        scale: { zero: false },
      },
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: 'test accuracy (%)',
        scale: { zero: false },
      },
      order: { field: 'sparsity', type: 'quantitative' },
    },
    layer: [
      { mark: { type: 'line', color: '#4c78a8' } },
      { mark: { type: 'point', filled: true, size: 60, color: '#4c78a8' } },
      { mark: { type: 'text', dy: -10, fontSize: 11 }, encoding: { text: { field: 'label' } } },
    ],
  };
}
