// `dynaprune eval FILE`: test accuracy and loss of a container, with the sparse runtime or with dense tfjs.
import type { Command } from 'commander';
import { tensor4d, tidy, type Tensor } from '@tensorflow/tfjs';
import type { BackendRequest } from '../../engine/backend.js';
import { backendRequests, initBackend } from '../../engine/backend.js';
import { toLayersModel } from '../../convert/export.js';
import { datasetNames, datasets, getDataset, loadDataset } from '../../data/registry.js';
import { ShapeMismatchError } from '../../errors.js';
import type { ModelGraph } from '../../graph/types.js';
import { loadSparse } from '../../format/load.js';
import { argmax, createNetwork } from '../../runtime/index.js';
import { oneOf, positiveInt } from '../parse.js';
import { pruneScopes, type PruneScope } from '../../graph/prune.js';
import { evalSparsity } from './eval-sparsity.js';

type EvalEngine = 'runtime' | 'tfjs';

interface Scores {
  readonly acc: number;
  readonly loss: number;
  readonly probabilities: Float32Array;
  readonly seconds: number;
}

function score(
  probabilities: Float32Array,
  labels: Uint8Array,
  classes: number,
): { acc: number; loss: number } {
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    if (argmax(row) === labels[i]) correct++;
    loss -= Math.log(Math.min(Math.max(row[labels[i]!]!, 1e-7), 1 - 1e-7));
  }
  return { acc: correct / labels.length, loss: loss / labels.length };
}

/** Refuses a dataset whose images are not the model's input, naming the datasets that would fit. */
export function checkInputFits(file: string, graph: ModelGraph, dataset: string): void {
  const input = graph.nodes.find((n) => n.op === 'input');
  if (input?.op !== 'input') return;
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const info = getDataset(dataset);
  if (size(input.shape) === size(info.inputShape)) return;
  const fitting = Object.values(datasets)
    .filter((d) => size(d.inputShape) === size(input.shape))
    .map((d) => d.name);
  throw new ShapeMismatchError(
    `${file} takes ${input.shape.join('x')} inputs, but ${dataset} images are ` +
      `${info.inputShape.join('x')}: the model was made for another dataset. ` +
      (fitting.length > 0
        ? `Use --dataset ${fitting.join(' or --dataset ')}.`
        : 'No registered dataset has images of that shape.'),
  );
}

/** Class probabilities for every test image, 256 at a time, from the sparse runtime or dense tfjs. */
async function predictAll(
  engine: EvalEngine,
  graph: ModelGraph,
  images: Float32Array,
  inputShape: readonly [number, number, number],
  count: number,
  classes: number,
  backend: BackendRequest,
): Promise<Float32Array> {
  const [h, w, c] = inputShape;
  const batch = (s: number, n: number) => images.subarray(s * h * w * c, (s + n) * h * w * c);
  const probabilities = new Float32Array(count * classes);
  if (engine === 'runtime') {
    const net = await createNetwork(graph);
    process.stderr.write(`runtime engine: ${net.engine}\n`);
    for (let s = 0; s < count; s += 256) {
      const n = Math.min(256, count - s);
      probabilities.set(net.predict(batch(s, n), n), s * classes);
    }
    return probabilities;
  }
  process.stderr.write((await initBackend(backend)).description + '\n');
  const model = toLayersModel(graph);
  for (let s = 0; s < count; s += 256) {
    const n = Math.min(256, count - s);
    const part = tidy(() =>
      (model.predict(tensor4d(batch(s, n), [n, h, w, c])) as Tensor).dataSync(),
    );
    probabilities.set(part, s * classes);
  }
  model.dispose();
  return probabilities;
}

/** How closely two engines' outputs agree: images given the same class, and the largest relative gap. */
function agreement(
  a: Float32Array,
  b: Float32Array,
  count: number,
  classes: number,
): { same: number; worst: number } {
  let same = 0;
  let worst = 0;
  for (let i = 0; i < count; i++) {
    const x = a.subarray(i * classes, (i + 1) * classes);
    const y = b.subarray(i * classes, (i + 1) * classes);
    if (argmax(x) === argmax(y)) same++;
    let scale = 0;
    let diff = 0;
    for (let k = 0; k < classes; k++) {
      scale = Math.max(scale, Math.abs(y[k]!));
      diff = Math.max(diff, Math.abs(x[k]! - y[k]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return { same, worst };
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description("Report a container's accuracy and loss on a dataset's test split.")
    .argument('<file>', 'a .dpr container')
    .option('--dataset <name>', `dataset (${datasetNames().join(', ')})`, 'cifar10')
    .option('--data-dir <path>', 'local copy of the dataset')
    .option('--test-limit <n>', 'evaluate only the first N test images')
    .option(
      '--engine <name>',
      'runtime (dynaprune/runtime, sparse kernels) or tfjs (the dense model on a tfjs backend)',
      'runtime',
    )
    .option(
      '--backend <name>',
      `tfjs backend for --engine tfjs (${backendRequests.join(', ')})`,
      'auto',
    )
    .option('--compare', 'run both engines and report how closely they agree')
    .option(
      '--sparsity <list>',
      'prune further to each sparsity (e.g. 0.9,0.95,0.98,0.99) on the runtime: table and accuracy-latency chart',
    )
    .option('--prune-scope <scope>', `with --sparsity: ${pruneScopes.join(' or ')}`, 'layer')
    .option(
      '--out <path>',
      'with --sparsity: chart and points to PATH.svg/.png/.json (default FILE.sparsity)',
    )
    .action(
      async (
        file: string,
        flags: {
          dataset: string;
          dataDir?: string;
          testLimit?: string;
          engine: string;
          backend: string;
          compare?: boolean;
          sparsity?: string;
          pruneScope: string;
          out?: string;
        },
      ) => {
        const dataset = oneOf('dataset', flags.dataset, datasetNames());
        const wanted = oneOf<EvalEngine>('engine', flags.engine, ['runtime', 'tfjs']);
        const backend = oneOf<BackendRequest>('backend', flags.backend, backendRequests);
        const graph = await loadSparse(file);
        checkInputFits(file, graph, dataset);
        const data = await loadDataset(dataset, {
          onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
          ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
          trainLimit: 1,
          ...(flags.testLimit !== undefined
            ? { testLimit: positiveInt('--test-limit', flags.testLimit) }
            : {}),
        });
        if (flags.sparsity !== undefined) {
          await evalSparsity(file, graph, data, {
            sparsity: flags.sparsity,
            pruneScope: oneOf<PruneScope>('pruning scope', flags.pruneScope, pruneScopes),
            out: flags.out ?? file.replace(/\.dpr$/i, '') + '.sparsity',
          });
          return;
        }
        const { count } = data.test;
        const images = Float32Array.from(data.test.images, (v) => v / 255);
        const classes = data.numClasses;
        const engines: EvalEngine[] = flags.compare ? ['runtime', 'tfjs'] : [wanted];
        const results = new Map<EvalEngine, Scores>();
        for (const engine of engines) {
          const started = performance.now();
          const probabilities = await predictAll(
            engine,
            graph,
            images,
            data.inputShape,
            count,
            classes,
            backend,
          );
          const r: Scores = {
            ...score(probabilities, data.test.labels, classes),
            probabilities,
            seconds: (performance.now() - started) / 1000,
          };
          results.set(engine, r);
          process.stdout.write(
            `${file} [${engine}]: test accuracy ${(100 * r.acc).toFixed(2)}%, test loss ${r.loss.toFixed(4)} on ${count} images ` +
              `(${r.seconds.toFixed(1)} s)\n`,
          );
        }
        if (flags.compare) {
          const { same, worst } = agreement(
            results.get('runtime')!.probabilities,
            results.get('tfjs')!.probabilities,
            count,
            classes,
          );
          process.stdout.write(
            `agreement: same class on ${same}/${count} images (${((100 * same) / count).toFixed(2)}%), ` +
              `largest relative difference of the outputs ${worst.toExponential(2)}\n`,
          );
        }
      },
    );
}
