// Inference latency of 90%-sparse CNNs: dynaprune's runtime against dense tfjs (wasm/XNNPACK and cpu), side by side.
//
// What it measures: the median time of one prediction at batch 1 and batch 32, one thread, for
//   - paper-cnn-wide (width 3) with a random 90% mask on every conv and dense kernel;
//   - WRN-16-2 at 90% (DSR's rule: the first conv, the 1x1 shortcuts and the classifier stay dense);
//   - the same two models at sparsity 0 (the runtime's dense path),
// on three engines with the same weights: the dynaprune runtime (WebAssembly SIMD, CSR kernels), tfjs-wasm
// running the dense model (zeros included) through XNNPACK, and tfjs-cpu. Rounds interleave the engines and
// speedups are medians of per-round ratios. The ideal speedup is dense multiply-adds / sparse ones.
//
// Run: npm run bench:infer [-- --quick]. Writes bench/results/infer-latency.json and prints a table; the
// last line is JSON with minSpeedupVsTfjsWasmBatch1 (the smaller of the two 90% models' batch-1 speedups).
import * as tf from '@tensorflow/tfjs';
import { graphToLayersModel } from '../src/convert/from-graph.js';
import { initBackend } from '../src/engine/backend.js';
import type { ModelGraph } from '../src/graph/types.js';
import { createNetwork } from '../src/runtime/index.js';
import { multiplyAddsPerImage } from '../src/experiments/model-stats.js';
import { median, sparseGraph, timeMedian as time } from './lib/sparse-graph.js';
import { describeMachine, writeBenchResult } from './lib/results.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 5;

type Engine = 'runtime' | 'tfjs-wasm' | 'tfjs-cpu';
const engines: Engine[] = ['runtime', 'tfjs-wasm', 'tfjs-cpu'];

interface Case {
  readonly model: string;
  readonly sparsity: number;
  readonly batch: number;
  readonly graph: ModelGraph;
  readonly idealSpeedup: number;
}

async function measure(c: Case, engine: Engine): Promise<number> {
  const input = Float32Array.from({ length: c.batch * 3072 }, (_, i) => ((i * 7919) % 255) / 255);
  const runs =
    engine === 'tfjs-cpu'
      ? c.batch === 1
        ? 3
        : 1
      : c.batch === 1
        ? quick
          ? 30
          : 100
        : quick
          ? 3
          : 10;
  const warmup = engine === 'tfjs-cpu' ? 1 : 5;
  if (engine === 'runtime') {
    const net = await createNetwork(c.graph, { engine: 'wasm-simd' });
    return time(() => void net.predict(input, c.batch), runs, warmup);
  }
  await tf.setBackend(engine === 'tfjs-wasm' ? 'wasm' : 'cpu');
  const model = graphToLayersModel(c.graph);
  const x = tf.tensor4d(input, [c.batch, 32, 32, 3]);
  const ms = time(
    () => void tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()),
    runs,
    warmup,
  );
  x.dispose();
  model.dispose();
  return ms;
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const cases: Case[] = [];
  for (const model of ['paper-cnn-wide', 'wrn-16-2']) {
    for (const sparsity of [0.9, 0]) {
      const graph = await sparseGraph(model, sparsity);
      const macs = multiplyAddsPerImage(graph);
      for (const batch of [1, 32])
        cases.push({ model, sparsity, batch, graph, idealSpeedup: macs.dense / macs.sparse });
    }
  }
  const samples = new Map<string, Record<Engine, number[]>>();
  const key = (c: Case) => `${c.model}|${c.sparsity}|${c.batch}`;
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const entry = samples.get(key(c)) ?? { runtime: [], 'tfjs-wasm': [], 'tfjs-cpu': [] };
      for (const engine of engines) {
        // tfjs-cpu takes seconds per batch-32 call on WRN; once is enough to place it.
        if (engine === 'tfjs-cpu' && r > 0) continue;
        entry[engine].push(await measure(c, engine));
      }
      samples.set(key(c), entry);
      process.stderr.write(`round ${r + 1}/${rounds} ${key(c)}\n`);
    }
  }
  const rows = cases.map((c) => {
    const s = samples.get(key(c))!;
    const ratios = s.runtime.map((t, i) => s['tfjs-wasm'][i]! / t);
    const speedup = median(ratios);
    return {
      model: c.model,
      sparsity: c.sparsity,
      batch: c.batch,
      msRuntime: median(s.runtime),
      msTfjsWasm: median(s['tfjs-wasm']),
      msTfjsCpu: median(s['tfjs-cpu']),
      speedupVsTfjsWasm: speedup,
      speedupVsTfjsCpu: median(s['tfjs-cpu']) / median(s.runtime),
      idealSpeedup: c.idealSpeedup,
      fractionOfIdeal: c.sparsity > 0 ? speedup / c.idealSpeedup : null,
    };
  });
  const sparseBatch1 = rows.filter((r) => r.sparsity > 0 && r.batch === 1);
  const denseRows = rows.filter((r) => r.sparsity === 0);
  const result = {
    benchmark: 'infer-latency',
    date: new Date().toISOString(),
    machine: { ...describeMachine(), threads: 1 },
    rounds,
    rows,
    minSpeedupVsTfjsWasmBatch1: Math.min(...sparseBatch1.map((r) => r.speedupVsTfjsWasm)),
    worstDenseSlowdownVsTfjsWasm: Math.max(...denseRows.map((r) => 1 / r.speedupVsTfjsWasm)),
  };
  writeBenchResult('infer-latency', result);
  const f = (v: number | null, d = 2) => (v === null ? '—' : v.toFixed(d));
  const lines = [
    `Inference latency, median ms, ${rounds} round(s), 1 thread, ${result.machine.cpuModel} (${result.machine.cpus} cores, no GPU)`,
    '',
    '| model | sparsity | batch | runtime | tfjs-wasm | tfjs-cpu | vs tfjs-wasm | vs tfjs-cpu | ideal | of ideal |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.sparsity} | ${r.batch} | ${f(r.msRuntime, 3)} | ${f(r.msTfjsWasm, 3)} | ${f(r.msTfjsCpu, 1)} | ` +
        `${f(r.speedupVsTfjsWasm)}x | ${f(r.speedupVsTfjsCpu, 1)}x | ${f(r.idealSpeedup, 1)}x | ${r.fractionOfIdeal === null ? '—' : `${(100 * r.fractionOfIdeal).toFixed(0)}%`} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      minSpeedupVsTfjsWasmBatch1: result.minSpeedupVsTfjsWasmBatch1,
      worstDenseSlowdownVsTfjsWasm: result.worstDenseSlowdownVsTfjsWasm,
    }) + '\n',
  );
}

tf.env().set('PROD', true); // mute tfjs's console banner
await main();
