// Inference latency per image at batch 1, for the reports (benchmarks in bench/ do the careful comparisons).
import { getBackend, tidy, zeros, type LayersModel, type Tensor } from '@tensorflow/tfjs';
import type { ModelGraph } from '../format/graph.js';

export interface Latency {
  readonly msPerImage: number;
  /** What ran the model. */
  readonly engine: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

/**
 * Median milliseconds of one batch-1 prediction over `runs` runs after a warm-up, with the dense tfjs
 * model on the current backend. `graph` is the model as stored, for engines that run it directly.
 */
export async function measureLatency(
  graph: ModelGraph,
  dense: LayersModel,
  runs = 50,
): Promise<Latency> {
  void graph;
  const input = dense.inputs[0]!.shape.slice(1) as number[];
  const x = zeros([1, ...input]);
  const once = (): void => {
    tidy(() => (dense.predict(x) as Tensor).dataSync());
  };
  for (let i = 0; i < 5; i++) once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  x.dispose();
  return { msPerImage: median(times), engine: `tfjs-${getBackend()} (dense weights)` };
}
