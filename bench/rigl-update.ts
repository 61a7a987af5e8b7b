// The cost of a RigL mask update on the sparse path: dense gradients by the layers' explicit request, against
// the all-ones masks that SparseTrainer wrote before.
//
// What it measures: paper-cnn-wide (width 3, BatchNorm) sparsified at 90% (uniform, or --distribution erk,
// which leaves some layers dense), kernels chosen as training chooses them (`auto`), batch 32, random
// data, Adam, in one process. Two identical models, each with its own optimizer and SparseTrainer running
// RigL (drop fraction 0.3, no decay, an update every round). Arm `request` is today's trainer: the dense
// gradient pass goes through `MaskedLayer.withDenseKernelGradients`, which writes no mask. Arm `all-ones`
// reproduces the trainer before it (kept here only as the baseline): every layer's mask is written as all
// ones, the gradients are taken on the dense kernels and the masks are written back, which uploads two
// masks per layer and leaves every layer to rebuild its sparse layout at the next step, changed or not.
// Per round and arm: a plain training step, the update, and the training step after it (which rebuilds
// the layouts the update invalidated). The arms alternate, first one then the other, and every ratio is
// the median of per-round ratios, so drifts in machine speed cancel out. Both arms must grow the same
// masks (`sameMasks`), or the comparison is void.
//
// Run: npx tsx --conditions=dynaprune-source bench/rigl-update.ts [--rounds N] [--distribution erk]
// Writes bench/results/rigl-update.json, prints a Markdown table, last line one JSON object.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { LayerView, UpdateContext, UpdateResult } from '../src/algorithms/algorithm.js';
import { RigL } from '../src/algorithms/rigl.js';
import { SparseTrainer } from '../src/algorithms/sparse-trainer.js';
import { initBackend } from '../src/engine/backend.js';
import { FusedAdamOptimizer } from '../src/engine/fused-adam.js';
import { median } from '../src/experiments/latency.js';
import { maskedLayers, type MaskedLayer } from '../src/layers/index.js';
import { topK } from '../src/layers/mask-math.js';
import { getModel } from '../src/models/registry.js';
import type { DistributionName } from '../src/sparsity/distributions.js';
import { sparsify } from '../src/sparsity/sparsify.js';
import { sparseCategoricalCrossentropy } from '../src/train/loss.js';
import { Random } from '../src/util/random.js';
import { describeMachine, loadRange, markdownTable, writeBenchResult } from './lib/results.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 12);
const distribution = (flag('--distribution') ?? 'uniform') as DistributionName;
const BATCH = 32;
// RigL's paper setting, without the cosine decay, so that every update drops and grows as many weights.
const rigl = { period: 1, stopFraction: 1, cosineDecay: false, dropFraction: 0.3 };

type Batch = { x: tf.Tensor; y: tf.Tensor };

/**
 * The dense gradients as SparseTrainer read them before the explicit request: all-ones masks on the dense
 * kernels, the gradients, the masks written back (inside the trainer's batch of mask writes, as then).
 */
function allOnesGradients(
  model: tf.LayersModel,
  layers: readonly MaskedLayer[],
  b: Batch,
): Map<string, Float32Array> {
  const masks = layers.map((l) => l.getMask());
  const modes = layers.map((l) => l.kernelMode);
  const out = new Map<string, Float32Array>();
  try {
    for (const l of layers) l.kernelMode = 'dense';
    for (const l of layers) l.writeMaskAndKernel(new Float32Array(l.kernelSize).fill(1), null);
    tf.tidy(() => {
      const kernels = layers.map((l) => l.kernelVariable.read() as tf.Variable);
      const { grads } = tf.variableGrads(
        () => sparseCategoricalCrossentropy(model.apply(b.x, { training: true }) as tf.Tensor, b.y),
        kernels,
      );
      layers.forEach((l, i) =>
        out.set(l.name, Float32Array.from(grads[kernels[i]!.name]!.dataSync())),
      );
    });
  } finally {
    layers.forEach((l, i) => {
      l.writeMaskAndKernel(masks[i]!, null);
      l.kernelMode = modes[i]!;
    });
  }
  return out;
}

/** RigL growing by {@link allOnesGradients}: the update as it ran before, for the baseline arm. */
class AllOnesRigL extends RigL {
  batch: Batch | undefined;
  private gradients: Map<string, Float32Array> | undefined;

  constructor(private readonly model: tf.LayersModel) {
    super(rigl);
  }

  override update(context: UpdateContext): UpdateResult {
    this.gradients = allOnesGradients(this.model, maskedLayers(this.model), this.batch!);
    try {
      return super.update(context);
    } finally {
      this.gradients = undefined;
    }
  }

  protected override chooseGrowth(view: LayerView, candidates: Int32Array, count: number) {
    const gradient = this.gradients!.get(view.name)!;
    return topK(candidates, (i) => Math.abs(gradient[i]!), count);
  }
}

interface Arm {
  readonly id: 'request' | 'all-ones';
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly trainer: SparseTrainer;
  readonly variables: tf.Variable[];
  step: number;
}

async function makeArm(id: Arm['id']): Promise<Arm> {
  const dense = getModel('paper-cnn-wide').build({
    inputShape: [32, 32, 3],
    numClasses: 10,
    seed: 1,
  });
  const { model } = await sparsify(dense, {
    sparsity: 0.9,
    distribution,
    maskInit: 'random',
    seed: 1,
  });
  dense.dispose();
  const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7);
  const algorithm = id === 'request' ? new RigL(rigl) : new AllOnesRigL(model);
  const trainer = new SparseTrainer(model, algorithm, { rng: new Random(1), optimizer });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return { id, model, optimizer, trainer, variables, step: 0 };
}

function trainStep(a: Arm, b: Batch): number {
  const t0 = performance.now();
  const cost = a.optimizer.minimize(
    () => sparseCategoricalCrossentropy(a.model.apply(b.x, { training: true }) as tf.Tensor, b.y),
    true,
    a.variables,
  )!;
  cost.dataSync();
  cost.dispose();
  a.step++;
  return performance.now() - t0;
}

interface Sample {
  plainMs: number;
  updateMs: number;
  nextMs: number;
  /** Sparse layouts built by the step after the update. */
  rebuilt: number;
}

function measure(a: Arm, b: Batch): Sample {
  const layers = maskedLayers(a.model);
  const plainMs = trainStep(a, b);
  if (a.trainer.algorithm instanceof AllOnesRigL) a.trainer.algorithm.batch = b;
  const t0 = performance.now();
  const record = a.trainer.step({ step: a.step, totalSteps: 1e9, batch: b });
  const updateMs = performance.now() - t0;
  if (record === undefined) throw new Error('RigL made no update');
  const builds = layers.reduce((s, l) => s + l.layoutBuilds, 0);
  const nextMs = trainStep(a, b);
  return {
    plainMs,
    updateMs,
    nextMs,
    rebuilt: layers.reduce((s, l) => s + l.layoutBuilds, 0) - builds,
  };
}

await initBackend('wasm');
const arms = [await makeArm('request'), await makeArm('all-ones')];
const b: Batch = {
  x: tf.randomUniform([BATCH, 32, 32, 3], 0, 1, 'float32', 1),
  y: tf.tensor1d(
    Array.from({ length: BATCH }, (_, i) => i % 10),
    'int32',
  ),
};
for (const a of arms) measure(a, b); // warm-up: slots, layouts, compiled code
const samples: Record<Arm['id'], Sample[]> = { request: [], 'all-ones': [] };
let sameMasks = true;
const loadBefore = loadavg();
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? arms : [...arms].reverse();
  for (const a of order) {
    const s = measure(a, b);
    samples[a.id].push(s);
    process.stderr.write(
      `round ${r + 1}/${rounds} ${a.id}: plain ${s.plainMs.toFixed(1)} ms, update ` +
        `${s.updateMs.toFixed(1)} ms, next ${s.nextMs.toFixed(1)} ms, ${s.rebuilt} layouts rebuilt\n`,
    );
  }
  const masks = arms.map((a) => maskedLayers(a.model).map((l) => l.getMask()));
  sameMasks &&= masks[0]!.every((m, i) => m.every((v, j) => v === masks[1]![i]![j]));
}
const loadAfter = loadavg();

const med = (id: Arm['id'], key: keyof Sample) => median(samples[id].map((s) => s[key]));
/** What an update adds to training: the update, and what the next step takes beyond a plain one. */
const cost = (s: Sample) => s.updateMs + s.nextMs - s.plainMs;
const ratio = (f: (s: Sample) => number) =>
  median(samples['all-ones'].map((s, i) => f(s) / f(samples.request[i]!)));
const rows = arms.map((a) => ({
  arm: a.id,
  plainStepMs: med(a.id, 'plainMs'),
  updateMs: med(a.id, 'updateMs'),
  nextStepMs: med(a.id, 'nextMs'),
  costMs: median(samples[a.id].map(cost)),
  costInSteps: median(samples[a.id].map((s) => cost(s) / s.plainMs)),
  layoutsRebuilt: med(a.id, 'rebuilt'),
}));
const updateSpeedup = ratio((s) => s.updateMs);
const costSpeedup = ratio(cost);
const f = (v: number, d = 1) => v.toFixed(d);
console.log(
  `\npaper-cnn-wide w=3, 90% ${distribution}, kernels auto, batch ${BATCH}, RigL every round; ` +
    `${rounds} rounds; layers ${maskedLayers(arms[0]!.model).length}; ` +
    `${loadRange(loadBefore, loadAfter)}\n`,
);
console.log(
  markdownTable(
    [
      'arm',
      'plain step (ms)',
      'update (ms)',
      'next step (ms)',
      'update cost (ms)',
      'cost in plain steps',
      'layouts rebuilt',
    ],
    rows.map((r) => [
      r.arm,
      f(r.plainStepMs),
      f(r.updateMs),
      f(r.nextStepMs),
      f(r.costMs),
      f(r.costInSteps, 2),
      String(r.layoutsRebuilt),
    ]),
  ),
);
console.log(
  `\nall-ones / request: update ${f(updateSpeedup, 2)}x, update cost ${f(costSpeedup, 2)}x ` +
    `(medians of per-round ratios); same masks: ${sameMasks}`,
);
const result = {
  machine: describeMachine(),
  distribution,
  loadBefore,
  loadAfter,
  rounds,
  rows,
  samples,
  sameMasks,
};
writeBenchResult('rigl-update', result);
console.log(
  JSON.stringify({
    distribution,
    updateSpeedup,
    costSpeedup,
    requestCostInSteps: rows[0]!.costInSteps,
    allOnesCostInSteps: rows[1]!.costInSteps,
    sameMasks,
    loadBefore,
    loadAfter,
  }),
);
