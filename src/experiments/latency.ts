// Inference latency per image at batch 1, for the reports (benchmarks in bench/ do the careful comparisons).
import { getBackend, tidy, zeros, type LayersModel, type Tensor } from '@tensorflow/tfjs';
import type { ModelGraph } from '../graph/types.js';
import { createNetwork } from '../runtime/index.js';

export interface Latency {
  /** Median ms of a batch-1 prediction with dynaprune's sparse runtime, and which of its engines ran. */
  readonly msPerImage: number;
  readonly engine: string;
  /** The same, with the dense model on the current tfjs backend: the yardstick. */
  readonly denseMsPerImage: number;
  readonly denseEngine: string;
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Median milliseconds of `once` over `runs` calls after `warmup` calls. */
export function timeMedian(once: () => void, runs: number, warmup = 5): number {
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Median milliseconds of `a` and of `b` over `runs` calls each, after `warmup` calls each, alternating
 * a and b call by call so that both see the same load on a shared machine (their ratio is then fair
 * even while other work comes and goes).
 */
export function timePairedMedians(
  a: () => void,
  b: () => void,
  runs: number,
  warmup = 5,
): [number, number] {
  for (let i = 0; i < warmup; i++) {
    a();
    b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    for (const [k, once] of [a, b].entries()) {
      const t0 = performance.now();
      once();
      times[k]!.push(performance.now() - t0);
    }
  }
  return [median(times[0]), median(times[1])];
}

/**
 * Batch-1 latency of `graph` (the model as stored) on dynaprune's runtime, and of `dense` (the same
 * weights as a plain tfjs model) on the current tfjs backend, measured call by call in turn.
 */
export async function measureLatency(
  graph: ModelGraph,
  dense: LayersModel,
  runs = 50,
): Promise<Latency> {
  const shape = dense.inputs[0]!.shape.slice(1) as number[];
  const net = await createNetwork(graph);
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const x = zeros([1, ...shape]);
  const [msPerImage, denseMsPerImage] = timePairedMedians(
    () => void net.predict(input, 1),
    () => void tidy(() => (dense.predict(x) as Tensor).dataSync()),
    runs,
  );
  x.dispose();
  return {
    msPerImage,
    engine: `dynaprune runtime (${net.engine})`,
    denseMsPerImage,
    denseEngine: `tfjs-${getBackend()} (dense weights)`,
  };
}
