// Each planned step's time inside the network against the same step run again at once (its weights, input and
// output already in cache): whether a layer is slower in the network than alone.
//
// What it measures: batch 1, low decile per step of --calls in-network samples (every step timed in order
// after a whole call) and of 5 back-to-back repeats every 10th call; GFLOP/s of nonzero multiply-adds per conv.
// Result (2026-12-02, WRN-16-2 at 90%, core 0, load 7-11): in the network 1.01-1.03x the time alone, summed
// over steps; the sparse convs run at 27-31 GFLOP/s either way, so cold caches are not where the time goes.
//
// Run: taskset -c 0 npx tsx --conditions=dynaprune-source bench/step-warmth.ts [--model wrn-16-2] [--calls 200]
// [--sparsity 0.9]. Prints a table; the last line is JSON. Reads the plan's steps directly (not public API).
import { loadavg } from 'node:os';
import { foldBatchNorms, fuseRelus } from '../src/graph/rewrites.js';
import { validateGraph } from '../src/graph/shapes.js';
import { Arena } from '../src/runtime/arena.js';
import { instantiateKernels } from '../src/runtime/kernels.js';
import { Plan, type Step } from '../src/runtime/plan.js';
import { planners } from '../src/runtime/planners.js';
import { sparseGraph } from './lib/sparse-graph.js';

const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const lowDecile = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 10)]!;

async function main(): Promise<void> {
  const model = arg('--model', 'wrn-16-2');
  const calls = Number(arg('--calls', '200'));
  const graph = await sparseGraph(model, Number(arg('--sparsity', '0.9')));
  const prepared = fuseRelus(foldBatchNorms(graph));
  const shapes = validateGraph(prepared, (m) => new Error(m));
  const memory = new WebAssembly.Memory({ initial: 16 });
  const kernels = await instantiateKernels(memory);
  const arena = new Arena(memory, 2 ** 30);
  const plan = new Plan(prepared, shapes, planners, kernels, arena, 0.35);
  const steps = (plan as unknown as { imageSteps: Step[] }).imageSteps;
  const input = new Float32Array(32 * 32 * 3).map((_, i) => ((i * 7919) % 255) / 255);
  for (let i = 0; i < 300; i++) plan.run(input, 1);
  const inNet = steps.map(() => [] as number[]);
  const alone = steps.map(() => [] as number[]);
  const whole: number[] = [];
  for (let c = 0; c < calls; c++) {
    const t0 = performance.now();
    plan.run(input, 1);
    whole.push(performance.now() - t0);
    for (let s = 0; s < steps.length; s++) {
      const t = performance.now();
      steps[s]!.run(0, 1);
      inNet[s]!.push(performance.now() - t);
    }
    // Every 10th call, each step alone: once to warm, then timed 5 times in a row.
    if (c % 10 === 0)
      for (let s = 0; s < steps.length; s++) {
        steps[s]!.run(0, 1);
        for (let r = 0; r < 5; r++) {
          const t = performance.now();
          steps[s]!.run(0, 1);
          alone[s]!.push(performance.now() - t);
        }
      }
  }
  const byName = new Map(prepared.nodes.map((n) => [n.name, n]));
  console.log(
    `${model}: whole call low decile ${lowDecile(whole).toFixed(3)} ms, load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log('| step | op | nnz | in network us | alone us | net/alone | GF/s net | GF/s alone |');
  let sumNet = 0;
  let sumAlone = 0;
  const rows = [];
  for (let s = 0; s < steps.length; s++) {
    const name = steps[s]!.node;
    const node = byName.get(name)!;
    const shape = shapes.get(name)!;
    let macs = 0;
    let nnz = 0;
    if (node.op === 'conv2d') {
      const w = node.weight;
      nnz = w.kind === 'csr' ? w.values.length : w.values.filter((v) => v !== 0).length;
      macs = nnz * shape[0]! * shape[1]!;
    }
    const a = lowDecile(inNet[s]!) * 1000;
    const b = lowDecile(alone[s]!) * 1000;
    sumNet += a;
    sumAlone += b;
    const gf = (us: number) => (macs ? ((2 * macs) / (us * 1e3)).toFixed(1) : '');
    console.log(
      `| ${name} | ${node.op} | ${nnz || ''} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} | ${gf(a)} | ${gf(b)} |`,
    );
    rows.push({ name, net: a, alone: b });
  }
  console.log(
    `sum in network ${sumNet.toFixed(1)} us, alone ${sumAlone.toFixed(1)} us, ratio ${(sumNet / sumAlone).toFixed(3)}`,
  );
  console.log(JSON.stringify({ model, load: loadavg()[0], sumNet, sumAlone, rows }));
}

void main();
