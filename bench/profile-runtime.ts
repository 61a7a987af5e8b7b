// Where the sparse runtime's time goes: per-node milliseconds of WRN-16-2 and paper-cnn-wide at 90%.
//
// What it measures: Network.profile() over many calls (after warm-up), the low decile of ms per node of the planned graph,
// with each conv's nonzero multiply-adds, its GFLOP/s and the share of the total. Batch 1 and 32.
//
// Run: npx tsx --conditions=dynaprune-source bench/profile-runtime.ts [--model wrn-16-2] [--batch 1] [--calls N]
// Prints one table per case; the last line is JSON.
import { loadavg } from 'node:os';
import { validateGraph } from '../src/graph/shapes.js';
import { createNetwork } from '../src/runtime/index.js';
import { sparseGraph } from './lib/sparse-graph.js';

/** The low decile: on a shared machine, the calls that other processes did not slow. */
const lowDecile = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 10)]!;

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

async function main(): Promise<void> {
  const models = arg('--model', 'wrn-16-2,paper-cnn-wide').split(',');
  const batches = arg('--batch', '1,32').split(',').map(Number);
  const sparsity = Number(arg('--sparsity', '0.9'));
  const summary: Record<string, unknown> = { load: loadavg()[0] };
  for (const model of models) {
    const graph = await sparseGraph(model, sparsity);
    const net = await createNetwork(graph, { engine: 'wasm-simd' });
    const shapes = validateGraph(net.graph, (m) => new Error(m));
    for (const batch of batches) {
      const calls = Number(arg('--calls', batch === 1 ? '200' : '10'));
      const input = new Float32Array(batch * 32 * 32 * 3).map((_, i) => (i % 255) / 255);
      for (let i = 0; i < 5; i++) net.predict(input, batch);
      const plain: number[] = [];
      const totals = new Map<string, number[]>();
      let profiled = 0;
      for (let i = 0; i < calls; i++) {
        const t0 = performance.now();
        net.predict(input, batch);
        plain.push(performance.now() - t0);
        const p = net.profile(input, batch);
        profiled += p.totalMs;
        for (const n of p.nodes) totals.set(n.name, [...(totals.get(n.name) ?? []), n.ms]);
      }
      const predictMs = lowDecile(plain);
      console.log(
        `\n${model} ${sparsity * 100}% batch ${batch}: predict low decile ${predictMs.toFixed(3)} ms, profiled mean ${(profiled / calls).toFixed(3)} ms, load ${loadavg()[0]!.toFixed(2)}`,
      );
      console.log('| node | op | out | nnz | MMACs/img | ms | % | GFLOP/s |');
      let sum = 0;
      for (const node of net.graph.nodes) {
        const ms = lowDecile(totals.get(node.name) ?? [0]);
        if (!ms) continue;
        sum += ms;
        const shape = shapes.get(node.name)!;
        let macs = 0;
        let nnz = 0;
        if (node.op === 'conv2d' || node.op === 'dense') {
          const w = node.weight;
          nnz = w.kind === 'csr' ? w.values.length : w.values.filter((v) => v !== 0).length;
          macs = nnz * (node.op === 'conv2d' ? shape[0]! * shape[1]! : 1);
        }
        const gflops = macs ? ((2 * macs * batch) / (ms / 1000) / 1e9).toFixed(1) : '';
        console.log(
          `| ${node.name} | ${node.op} | ${shape.join('x')} | ${nnz || ''} | ${macs ? (macs / 1e6).toFixed(2) : ''} | ${ms.toFixed(4)} | ${((100 * ms) / (profiled / calls)).toFixed(1)} | ${gflops} |`,
        );
      }
      console.log(`steps sum ${sum.toFixed(3)} ms`);
      summary[`${model} b${batch}`] = {
        median: predictMs,
        profiledMean: profiled / calls,
        stepsSum: sum,
      };
    }
  }
  console.log(JSON.stringify(summary));
}

void main();
