// Sparsity at inference: how long network.setSparsity takes to move between points (the slider's cost), against
// loading the pruned graph anew, and the batch-1 latency at each point, relative to the stored sparsity.
//
// What it measures, on paper-cnn-wide (width 3) with a random 90% mask (or --model FILE.dpr): for each target
// (stored, 0.95, 0.98, 0.99; uniform per layer, then global), in interleaved rounds,
//   - switch: setSparsity from the previous point in the cycle to this one (new CSR for the changed layers, one
//     re-plan over the network's memory);
//   - reload: createNetwork(pruneGraph(stored, target)), what a runtime without setSparsity would do;
//   - latency: median of 40 batch-1 predictions; the ratio to the stored point is taken per round.
// Also the one-off cost of the first call (sorting every layer's magnitudes).
//
// Run: npx tsx --conditions=dynaprune-source bench/sparsity-switch.ts [--model FILE.dpr] [--quick]. Writes
// bench/results/sparsity-switch.json and prints a table; the last line is JSON with the slowest median switch.
import { loadavg } from 'node:os';
import { loadSparse } from '../src/format/load.js';
import { pruneGraph, type PruneScope } from '../src/graph/prune.js';
import type { ModelGraph } from '../src/graph/types.js';
import { createNetwork, type Network } from '../src/runtime/index.js';
import { median, sparseGraph } from './lib/sparse-graph.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 9;
const modelArg = process.argv.indexOf('--model');
const modelPath = modelArg > 0 ? process.argv[modelArg + 1] : undefined;
const targets = [0, 0.95, 0.98, 0.99];
const scopes: PruneScope[] = ['layer', 'global'];

function latency(net: Network, input: Float32Array, runs: number): number {
  const times: number[] = [];
  for (let r = 0; r < runs + 5; r++) {
    const t0 = performance.now();
    net.predict(input, 1);
    if (r >= 5) times.push(performance.now() - t0);
  }
  return median(times);
}

interface Row {
  scope: PruneScope;
  target: number;
  nnz: number;
  switchMs: number;
  switchMaxMs: number;
  reloadMs: number;
  latencyMs: number;
  latencyVsStored: number;
}

async function main(): Promise<void> {
  const graph: ModelGraph = modelPath
    ? await loadSparse(modelPath)
    : await sparseGraph('paper-cnn-wide', 0.9);
  const per = (graph.nodes[0] as unknown as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
  const input = Float32Array.from({ length: per }, (_, i) => ((i * 7919) % 255) / 255);
  const net = await createNetwork(graph);
  const t0 = performance.now();
  net.setSparsity(targets[1]!); // the first call sorts every layer's magnitudes
  const firstCallMs = performance.now() - t0;
  net.setSparsity(0);
  const runs = quick ? 15 : 40;
  const rows: Row[] = [];
  for (const scope of scopes) {
    const samples = targets.map(() => ({
      switch: [] as number[],
      reload: [] as number[],
      lat: [] as number[],
      ratio: [] as number[],
      nnz: 0,
    }));
    for (let round = 0; round < rounds; round++) {
      let storedLatency = 0;
      targets.forEach((target, i) => {
        const s = samples[i]!;
        const t1 = performance.now();
        const layers = net.setSparsity(target, { scope });
        s.switch.push(performance.now() - t1);
        s.nnz = layers.reduce((a, l) => a + l.nnz, 0);
        const lat = latency(net, input, runs);
        if (target === 0) storedLatency = lat;
        s.lat.push(lat);
        s.ratio.push(lat / storedLatency);
      });
      for (const [i, target] of targets.entries()) {
        const t2 = performance.now();
        await createNetwork(target === 0 ? graph : pruneGraph(graph, target, scope));
        samples[i]!.reload.push(performance.now() - t2);
      }
    }
    targets.forEach((target, i) => {
      const s = samples[i]!;
      rows.push({
        scope,
        target,
        nnz: s.nnz,
        switchMs: median(s.switch),
        switchMaxMs: Math.max(...s.switch),
        reloadMs: median(s.reload),
        latencyMs: median(s.lat),
        latencyVsStored: median(s.ratio),
      });
    });
    net.setSparsity(0);
  }
  const machine = describeMachine();
  const result = {
    model: modelPath ?? 'paper-cnn-wide width 3, random 90% mask',
    engine: net.engine,
    rounds,
    loadAverage: loadavg(),
    machine,
    firstCallMs,
    rows,
  };
  writeBenchResult('sparsity-switch', result);
  const f = (v: number, d = 2) => v.toFixed(d);
  process.stdout.write(
    [
      `setSparsity on ${result.model} (${net.engine}), medians of ${rounds} interleaved rounds; load average ${loadavg()
        .map((v) => v.toFixed(1))
        .join(' ')}; ${machine.cpuModel}, ${machine.cpus} cores`,
      `first call (sorts every layer's magnitudes): ${f(firstCallMs, 1)} ms`,
      '',
      markdownTable(
        [
          'scope',
          'target',
          'nnz',
          'switch ms (median / max)',
          'reload ms',
          'batch-1 latency ms',
          'vs stored',
        ],
        rows.map((r) => [
          r.scope,
          r.target === 0 ? 'stored' : String(r.target),
          r.nnz.toLocaleString('en'),
          `${f(r.switchMs)} / ${f(r.switchMaxMs)}`,
          f(r.reloadMs, 1),
          f(r.latencyMs, 3),
          `${f(r.latencyVsStored)}x`,
        ]),
      ),
    ].join('\n') + '\n',
  );
  const pruned = rows.filter((r) => r.target !== 0);
  process.stdout.write(
    JSON.stringify({
      slowestMedianSwitchMs: Math.max(...pruned.map((r) => r.switchMs)),
      medianReloadOverSwitch: median(pruned.map((r) => r.reloadMs / r.switchMs)),
      firstCallMs,
    }) + '\n',
  );
}

await main();
