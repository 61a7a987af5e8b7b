// Where the sparse training kernels start to beat the dense ones, per layer shape: the auto choice's crossover.
//
// What it measures: one training pass of a single masked layer (forward, then the gradients of the input,
// kernel and bias) at batch 32 on tfjs-wasm, on the dense masked path and on the sparse path, at densities
// from 1 to 0.02, for the layers of paper-cnn and paper-cnn-wide (width 3). The two paths alternate inside
// each density (interleaved), and the ratio is the median of per-pair ratios. The crossover recorded in
// src/engine/sparse-choice.ts and docs/DECISIONS.md comes from this table.
//
// Run: npx tsx bench/sparse-crossover.ts [--quick]
// Writes bench/results/sparse-crossover.json, prints a Markdown table, last line one JSON object.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { median } from '../src/experiments/latency.js';
import { DynamicConv2D, DynamicDense, type MaskedLayer } from '../src/layers/index.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';

interface Shape {
  readonly name: string;
  readonly input: number[];
  readonly make: (sparsity: number) => MaskedLayer;
}

const conv = (filters: number) => (sparsity: number) =>
  new DynamicConv2D({ filters, kernelSize: 3, activation: 'relu', sparsity, seed: 1 });
const dense = (units: number) => (sparsity: number) =>
  new DynamicDense({ units, activation: 'relu', sparsity, seed: 1 });

const shapes: Shape[] = [
  { name: 'paper-cnn conv2 15x15x32->64', input: [32, 15, 15, 32], make: conv(64) },
  { name: 'wide conv1 32x32x3->96', input: [32, 32, 32, 3], make: conv(96) },
  { name: 'wide conv2 15x15x96->192', input: [32, 15, 15, 96], make: conv(192) },
  { name: 'wide conv3 6x6x192->192', input: [32, 6, 6, 192], make: conv(192) },
  { name: 'wide fc1 3072->192', input: [32, 3072], make: dense(192) },
];

/** Milliseconds of one forward + backward pass of `layer` on `x`. */
function pass(layer: MaskedLayer, x: tf.Variable): number {
  const t0 = performance.now();
  tf.tidy(() => {
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar,
      [x, ...weights],
    );
    for (const g of Object.values(grads)) g.dataSync();
  });
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  await initBackend('wasm');
  const densities = [1, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02];
  const reps = quick ? 3 : 7;
  const rows: {
    shape: string;
    density: number;
    denseMs: number;
    sparseMs: number;
    speedup: number;
  }[] = [];
  for (const shape of shapes) {
    for (const density of densities) {
      const layer = shape.make(Math.min(0.999, 1 - density));
      const x = tf.variable(tf.randomUniform(shape.input, 0, 1, 'float32', 2));
      const times: Record<'dense' | 'sparse', number[]> = { dense: [], sparse: [] };
      for (const mode of ['dense', 'sparse'] as const) {
        layer.kernelMode = mode;
        pass(layer, x); // warm-up, builds the layer and the layout
      }
      for (let r = 0; r < reps; r++) {
        for (const mode of ['dense', 'sparse'] as const) {
          layer.kernelMode = mode;
          times[mode].push(pass(layer, x));
        }
      }
      const ratios = times.dense.map((d, i) => d / times.sparse[i]!);
      rows.push({
        shape: shape.name,
        density,
        denseMs: median(times.dense),
        sparseMs: median(times.sparse),
        speedup: median(ratios),
      });
      process.stderr.write(
        `${shape.name} density ${density}: dense ${median(times.dense).toFixed(2)} ms, sparse ${median(times.sparse).toFixed(2)} ms\n`,
      );
      x.dispose();
      layer.dispose();
    }
  }
  const machine = describeMachine();
  writeBenchResult('sparse-crossover', {
    date: new Date().toISOString(),
    machine,
    loadAverage: loadavg(),
    rows,
  });
  const lines = [
    `Sparse vs dense training pass of one layer, batch 32, tfjs-wasm, 1 thread, ${machine.cpuModel}`,
    '',
    markdownTable(
      ['layer', 'density', 'dense ms', 'sparse ms', 'sparse speedup'],
      rows.map((r) => [
        r.shape,
        String(r.density),
        r.denseMs.toFixed(2),
        r.sparseMs.toFixed(2),
        `${r.speedup.toFixed(2)}x`,
      ]),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ rows: rows.length, loadAverage: loadavg() }) + '\n');
}

await main();
