// A/B of two builds of the runtime in one process: this tree's against a copy of another tree's src/.
//
// What it measures: for each model (90% random mask, bench/lib/sparse-graph.ts) and batch, the low decile of
// 40 (batch 1) or 10 (batch 32) predictions on each build, in interleaved rounds (the order alternates), and the median of the
// per-round ratios base / this (above 1: this tree is faster); the ms columns are medians over rounds. Outputs are compared (max abs difference).
// Use it to judge a kernel or plan change on a loaded machine: ratios measured side by side hold up where
// absolute times do not. Pin it to one core (taskset -c 0): this machine's two cores run the kernels at
// different speeds (1.3x apart, measured 2026-12-02), so a process that moves between them mixes both.
//
// Run: npx tsx --conditions=dynaprune-source bench/runtime-ab.ts --base /path/to/other/src [--model m1,m2]
//      [--batch 1,32] [--rounds 10] [--sparsity 0.9]
// The base is a copy of a built tree's src/ (with src/runtime/generated/). Last line: JSON.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNetwork } from '../src/runtime/index.js';
import { median, sparseGraph } from './lib/sparse-graph.js';

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

type Predict = (input: Float32Array, batch: number) => Float32Array;

/** The low decile of `calls` timed calls: on a shared machine, the calls that other processes did not slow. */
function timeCalls(predict: Predict, input: Float32Array, batch: number, calls: number): number {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    predict(input, batch);
    times.push(performance.now() - t0);
  }
  return times.sort((x, y) => x - y)[Math.floor(calls / 10)]!;
}

async function main(): Promise<void> {
  const base = resolve(arg('--base', ''));
  const other = (await import(pathToFileURL(`${base}/runtime/index.ts`).href)) as {
    createNetwork: typeof createNetwork;
  };
  const models = arg('--model', 'wrn-16-2,paper-cnn-wide').split(',');
  const batches = arg('--batch', '1,32').split(',').map(Number);
  const rounds = Number(arg('--rounds', '10'));
  const sparsity = Number(arg('--sparsity', '0.9'));
  const loadBefore = loadavg()[0];
  const results: Record<string, unknown>[] = [];
  console.log('| model | batch | base ms | this ms | base/this | max abs diff |');
  for (const model of models) {
    const graph = await sparseGraph(model, sparsity);
    const a = await other.createNetwork(graph, { engine: 'wasm-simd' });
    const b = await createNetwork(graph, { engine: 'wasm-simd' });
    for (const batch of batches) {
      const input = new Float32Array(batch * 32 * 32 * 3).map((_, i) => ((i * 7919) % 255) / 255);
      const ya = a.predict(input, batch);
      const yb = b.predict(input, batch);
      let diff = 0;
      for (let i = 0; i < ya.length; i++) diff = Math.max(diff, Math.abs(ya[i]! - yb[i]!));
      const calls = batch === 1 ? 40 : 10;
      const ta: number[] = [];
      const tb: number[] = [];
      const ratios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const pa = (x: Float32Array, n: number) => a.predict(x, n);
        const pb = (x: Float32Array, n: number) => b.predict(x, n);
        let msA: number;
        let msB: number;
        if (r % 2 === 0) {
          msA = timeCalls(pa, input, batch, calls);
          msB = timeCalls(pb, input, batch, calls);
        } else {
          msB = timeCalls(pb, input, batch, calls);
          msA = timeCalls(pa, input, batch, calls);
        }
        ta.push(msA);
        tb.push(msB);
        ratios.push(msA / msB);
      }
      const row = {
        model,
        batch,
        baseMs: median(ta),
        thisMs: median(tb),
        ratio: median(ratios),
        maxAbsDiff: diff,
      };
      results.push(row);
      console.log(
        `| ${model} | ${batch} | ${row.baseMs.toFixed(3)} | ${row.thisMs.toFixed(3)} | ${row.ratio.toFixed(3)} | ${diff.toExponential(1)} |`,
      );
    }
  }
  console.log(JSON.stringify({ loadBefore, loadAfter: loadavg()[0], results }));
}

void main();
