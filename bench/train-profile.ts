// Where a training step's time goes, per tfjs kernel: tf.profile over a few full steps (forward, backward, Adam).
//
// What it measures: one model (paper-cnn, or paper-cnn-wide w=3 masked uniformly at --density, on the
// --kernels path), batch 32 of random data; the wall time of each kernel tfjs runs through its engine
// (kernels a kernel calls directly, e.g. the input gradient's own pieces, count in their caller), and the
// CPU time of the process per step. Under load, wall times include waiting for a core; the shares are
// still comparable within one run. One process, one run: for before/after comparisons use
// bench/train-throughput.ts, which interleaves.
//
// With --wasm-timers it also times every call into dynaprune's own WebAssembly kernels (assembly/training),
// by kernel and by its size arguments (so one row per layer): the pieces inside the registered sparse
// kernels (im2col, products, transposes) and the calls tfjs's profiler cannot see (BatchNorm's fused
// kernels, the optimizer's in-place updates). The step's time outside every kernel is the plain steps'
// time (timed first, without the profiler, whose own bookkeeping is slow) less the kernels' sum.
//
// Run: npx tsx --conditions=dynaprune-source bench/train-profile.ts [--model paper-cnn-wide] [--density 1]
//      [--kernels dense|sparse|auto] [--steps 4] [--warmup 3] [--threads 1] [--xnnpack-threads N]
//      [--wasm-timers] [--by-shape]
// Prints the kernels by total time (ms per step); writes bench/results/train-profile.json; the last line
// is one JSON object.
import { loadavg } from 'node:os';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/engine/backend.js';
import { FusedAdamOptimizer } from '../src/engine/fused-adam.js';
import { trainingWasmFor } from '../src/engine/training-wasm.js';
import { getModel } from '../src/models/registry.js';
import { sparsify } from '../src/sparsity/sparsify.js';
import { maskedLayers } from '../src/layers/index.js';
import { sparseCategoricalCrossentropy } from '../src/train/loss.js';
import type { KernelMode } from '../src/engine/sparse-choice.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const modelName = flag('--model', 'paper-cnn-wide') as 'paper-cnn' | 'paper-cnn-wide';
const density = Number(flag('--density', '1'));
const kernels = flag('--kernels', 'dense') as KernelMode;
const steps = Number(flag('--steps', '4'));
const warmup = Number(flag('--warmup', '3'));
const threads = Number(flag('--threads', '1'));
const xnnpackThreads = Number(flag('--xnnpack-threads', String(threads)));
const wasmTimers = args.includes('--wasm-timers');
const byShape = args.includes('--by-shape');
const batch = 32;

await initBackend('wasm', { threads, xnnpackThreads });
const dense = getModel(modelName).build({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
const model =
  modelName === 'paper-cnn'
    ? dense
    : (
        await sparsify(dense, {
          sparsity: 1 - density,
          distribution: 'uniform',
          maskInit: 'random',
          seed: 1,
        })
      ).model;
for (const layer of maskedLayers(model)) layer.kernelMode = kernels;
const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7);
const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
const xs = tf.randomUniform([batch, 32, 32, 3]);
const ys = tf.tensor1d(
  Array.from({ length: batch }, (_, i) => i % 10),
  'int32',
);
const step = () => {
  const cost = optimizer.minimize(
    () => sparseCategoricalCrossentropy(model.apply(xs, { training: true }) as tf.Tensor, ys),
    true,
    variables,
  )!;
  cost.dataSync();
  cost.dispose();
};
for (let i = 0; i < warmup; i++) step();

// Plain steps first: the step's time without any profiling.
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps;
const cpuUsed = process.cpuUsage(cpu0);
const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000 / steps;

/**
 * Wraps every export of dynaprune's training kernels with a CPU timer, keyed by the kernel's name and its
 * size arguments (the small integers among its arguments; pointers are heap offsets, larger). CPU time,
 * not wall time, so that other processes on a loaded machine do not count.
 */
function timeWasmKernels(): Map<string, { ms: number; calls: number }> {
  const times = new Map<string, { ms: number; calls: number }>();
  const backend = tf.engine().findBackend('wasm') as BackendWasm;
  const exportsObject = trainingWasmFor(backend) as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(exportsObject)) {
    if (typeof fn !== 'function') continue;
    const call = fn as (...a: number[]) => unknown;
    exportsObject[name] = (...a: number[]) => {
      // CPU time of the process (this thread's work: the kernel workers are idle between kernels).
      const start = process.cpuUsage();
      const result = call(...a);
      const used = process.cpuUsage(start);
      const sizes = a.filter((v) => Number.isInteger(v) && v >= 0 && v < 65536).join('x');
      const key = `${name}(${sizes})`;
      const e = times.get(key) ?? { ms: 0, calls: 0 };
      e.ms += (used.user + used.system) / 1000;
      e.calls += 1;
      times.set(key, e);
      return result;
    };
  }
  return times;
}

const wasmTimes = wasmTimers ? timeWasmKernels() : undefined;
const info = await tf.profile(() => {
  for (let i = 0; i < steps; i++) step();
});
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const shape = byShape ? ` ${JSON.stringify(k.outputShapes[0] ?? [])}` : '';
  const key = `${k.name || '(customGrad)'}${shape}`;
  const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
  e.ms += (k.kernelTimeMs as number) / steps;
  e.calls += 1 / steps;
  byKernel.set(key, e);
}
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((a, [, e]) => a + e.ms, 0);
const wasmRows = [...(wasmTimes ?? new Map<string, { ms: number; calls: number }>()).entries()]
  .map(([k, e]) => [k, { ms: e.ms / steps, calls: e.calls / steps }] as const)
  .sort((a, b) => b[1].ms - a[1].ms);
const load = loadavg();
const table = (
  title: string,
  list: readonly (readonly [string, { ms: number; calls: number }])[],
) => [
  '',
  markdownTable(
    [title, 'ms per step', 'calls per step', 'share of the step'],
    list.map(([name, e]) => [
      name,
      e.ms.toFixed(2),
      e.calls.toFixed(0),
      `${((100 * e.ms) / wall).toFixed(1)}%`,
    ]),
  ),
];
const lines = [
  `${modelName} density ${density}, ${kernels} kernels, ${threads} thread(s) (XNNPACK ${xnnpackThreads}), batch ${batch}, load ${load[0]!.toFixed(1)}`,
  `step (unprofiled): ${wall.toFixed(1)} ms wall, ${cpuMs.toFixed(1)} ms CPU; in tfjs kernels (profiled) ` +
    `${inKernels.toFixed(1)} ms; outside them ${(wall - inKernels).toFixed(1)} ms`,
  ...table('tfjs kernel', rows),
  ...(wasmTimes ? table("dynaprune's wasm kernel (sizes), ms of CPU", wasmRows) : []),
];
console.log(lines.join('\n'));
const summary = {
  model: modelName,
  density,
  kernels,
  threads,
  xnnpackThreads,
  wallMs: wall,
  cpuMs,
  inKernelsMs: inKernels,
  kernelMs: Object.fromEntries(rows.map(([n, e]) => [n, e.ms])),
  ...(wasmTimes ? { wasmKernelMs: Object.fromEntries(wasmRows.map(([n, e]) => [n, e.ms])) } : {}),
  loadAverage: load,
};
writeBenchResult('train-profile', {
  ...summary,
  machine: describeMachine(),
  date: new Date().toISOString(),
});
console.log(JSON.stringify(summary));
