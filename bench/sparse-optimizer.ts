// The optimizer step of sparse-path kernels at their active positions only, against a full sweep (issue 10).
//
// What it measures: paper-cnn-wide (width 3, BatchNorm) with every conv and dense layer at 90% sparsity
// on the sparse kernels, batch 32, random data, in one process: full training steps (forward, backward,
// optimizer) and the optimizer's own time, with Adam and with SGD + momentum, each once updating the
// kernels at their active positions only (`activeOnly: true`, the default) and once sweeping every kernel
// entry (`activeOnly: false`, the update before issue 10's values-only step; same results). The arms
// alternate within each round (interleaved) and every ratio is the median of per-round ratios, so drifts
// in machine speed cancel out.
//
// Run: npx tsx --conditions=dynaprune-source bench/sparse-optimizer.ts [--rounds N] [--steps N]
// Writes bench/results/sparse-optimizer.json, prints a Markdown table, last line one JSON object.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { FusedAdamOptimizer } from '../src/engine/fused-adam.js';
import { FusedMomentumOptimizer } from '../src/engine/fused-momentum.js';
import { median } from '../src/experiments/latency.js';
import { maskedLayers } from '../src/layers/index.js';
import { getModel } from '../src/models/registry.js';
import { sparsify } from '../src/sparsity/sparsify.js';
import { sparseCategoricalCrossentropy } from '../src/train/loss.js';
import { describeMachine, loadRange, markdownTable, writeBenchResult } from './lib/results.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 5);
const steps = Number(flag('--steps') ?? 8);
const BATCH = 32;

await initBackend('wasm');
const dense = getModel('paper-cnn-wide').build({
  inputShape: [32, 32, 3],
  numClasses: 10,
  seed: 1,
});
const { model } = await sparsify(dense, {
  sparsity: 0.9,
  distribution: 'uniform',
  maskInit: 'random',
  seed: 1,
});
for (const layer of maskedLayers(model)) layer.kernelMode = 'sparse';
const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
const x = tf.randomUniform([BATCH, 32, 32, 3], 0, 1, 'float32', 1);
const y = tf.tensor1d(
  Array.from({ length: BATCH }, (_, i) => i % 10),
  'int32',
);

interface Arm {
  readonly id: string;
  readonly optimizer: tf.Optimizer;
  optimizerMs: number;
}
/** Wraps `optimizer.applyGradients` to add its time to the arm's clock. */
function arm(id: string, optimizer: tf.Optimizer): Arm {
  const a: Arm = { id, optimizer, optimizerMs: 0 };
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads) => {
    const t0 = performance.now();
    apply(grads);
    a.optimizerMs += performance.now() - t0;
  };
  return a;
}
const arms = [
  arm('adam-active', new FusedAdamOptimizer(1e-4, 0.9, 0.999, 1e-7)),
  arm('adam-full', new FusedAdamOptimizer(1e-4, 0.9, 0.999, 1e-7, { activeOnly: false })),
  arm('momentum-active', new FusedMomentumOptimizer(1e-4, 0.9)),
  arm('momentum-full', new FusedMomentumOptimizer(1e-4, 0.9, false, { activeOnly: false })),
];

/** Median milliseconds of a full training step, and of the optimizer within it, over `steps` steps. */
function measure(a: Arm): { stepMs: number; optimizerMs: number } {
  const stepTimes: number[] = [];
  const optimizerTimes: number[] = [];
  for (let s = 0; s < steps; s++) {
    a.optimizerMs = 0;
    const t0 = performance.now();
    const cost = a.optimizer.minimize(
      () => sparseCategoricalCrossentropy(model.apply(x, { training: true }) as tf.Tensor, y),
      true,
      variables,
    )!;
    cost.dataSync();
    cost.dispose();
    stepTimes.push(performance.now() - t0);
    optimizerTimes.push(a.optimizerMs);
  }
  return { stepMs: median(stepTimes), optimizerMs: median(optimizerTimes) };
}

for (const a of arms) measure(a); // warm-up: slots, layouts, compiled code
const samples: Record<string, { stepMs: number; optimizerMs: number }[]> = Object.fromEntries(
  arms.map((a) => [a.id, []]),
);
const loadBefore = loadavg();
for (let r = 0; r < rounds; r++) {
  for (const a of arms) {
    const m = measure(a);
    samples[a.id]!.push(m);
    process.stderr.write(
      `round ${r + 1}/${rounds} ${a.id}: step ${m.stepMs.toFixed(1)} ms, optimizer ${m.optimizerMs.toFixed(2)} ms\n`,
    );
  }
}
const loadAfter = loadavg();
const ratio = (a: string, b: string, key: 'stepMs' | 'optimizerMs'): number =>
  median(samples[a]!.map((s, i) => samples[b]![i]![key] / s[key]));
const med = (id: string, key: 'stepMs' | 'optimizerMs') => median(samples[id]!.map((s) => s[key]));

const rows = (['adam', 'momentum'] as const).map((opt) => ({
  optimizer: opt,
  fullStepMs: med(`${opt}-full`, 'stepMs'),
  activeStepMs: med(`${opt}-active`, 'stepMs'),
  stepSpeedup: ratio(`${opt}-active`, `${opt}-full`, 'stepMs'),
  fullOptimizerMs: med(`${opt}-full`, 'optimizerMs'),
  activeOptimizerMs: med(`${opt}-active`, 'optimizerMs'),
  optimizerSpeedup: ratio(`${opt}-active`, `${opt}-full`, 'optimizerMs'),
}));
const f = (v: number, d = 1) => v.toFixed(d);
console.log(
  `\npaper-cnn-wide w=3, 90% sparse, sparse path, batch ${BATCH}; ${rounds} rounds x ${steps} steps; ` +
    `${loadRange(loadBefore, loadAfter)}\n`,
);
console.log(
  markdownTable(
    [
      'optimizer',
      'step, full sweep (ms)',
      'step, active only (ms)',
      'step speed-up',
      'optimizer, full (ms)',
      'optimizer, active (ms)',
      'optimizer speed-up',
    ],
    rows.map((r) => [
      r.optimizer,
      f(r.fullStepMs),
      f(r.activeStepMs),
      `${f(r.stepSpeedup, 2)}x`,
      f(r.fullOptimizerMs, 2),
      f(r.activeOptimizerMs, 2),
      `${f(r.optimizerSpeedup, 2)}x`,
    ]),
  ),
);
const result = {
  machine: describeMachine(),
  loadBefore,
  loadAfter,
  rounds,
  steps,
  rows,
  samples,
};
writeBenchResult('sparse-optimizer', result);
console.log(
  JSON.stringify({
    adamStepSpeedup: rows[0]!.stepSpeedup,
    adamOptimizerSpeedup: rows[0]!.optimizerSpeedup,
    momentumStepSpeedup: rows[1]!.stepSpeedup,
    momentumOptimizerSpeedup: rows[1]!.optimizerSpeedup,
    loadBefore,
    loadAfter,
  }),
);
