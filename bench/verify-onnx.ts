// Does the ONNX export compute what the runtime computes? onnxruntime against dynaprune's runtime on real images.
//
// What it checks: each model is exported with exportOnnx (dense initializers, and sparse initializers for
// onnxruntime-node) and run by onnxruntime-node (native CPU) and onnxruntime-web (WebAssembly SIMD, one
// thread) on the first N CIFAR-10 test images (default 1,000), beside the dynaprune runtime (wasm-simd)
// on the same images in NHWC. It prints the largest absolute difference of the outputs (softmax
// probabilities) per model and engine, the same for the logits (the model with its final softmax removed,
// a stricter check: near-uniform probabilities of untrained models hide little), and how many images get
// the same top class. Acceptance (issue 12):
// every difference within 1e-5.
// Models: the benchmark's four (paper-cnn-wide width 3 and WRN-16-2, random 90% masks and dense, BatchNorm
// folded), plus any trained container given with --container FILE.dpr (repeatable).
//
// Run: npx tsx bench/verify-onnx.ts [--images 1000] [--data-dir ../shared/data/cifar10] [--container F.dpr]
// Writes bench/results/verify-onnx.json; the last line is JSON with maxAbsDiff and pass.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { exportOnnx } from '../src/convert/onnx-export.js';
import { loadCifar10 } from '../src/data/cifar10.js';
import { initBackend } from '../src/engine/backend.js';
import type { ModelGraph } from '../src/graph/types.js';
import { loadSparse } from '../src/format/load.js';
import { createNetwork } from '../src/runtime/index.js';
import { createSession, loadPeers, nhwcToNchw, type OrtFlavour } from './lib/peers.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';
import { sparseGraph } from './lib/sparse-graph.js';

const TOLERANCE = 1e-5;
const CHUNK = 100; // images per call: large enough to be quick, small enough for WRN's activations
const PER_IMAGE = 32 * 32 * 3;

const flag = (name: string): string[] =>
  process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
const imageCount = Number(flag('--images')[0] ?? 1000);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = flag('--data-dir')[0] ?? join(repoRoot, '..', 'shared', 'data', 'cifar10');

interface Check {
  readonly model: string;
  readonly engine: `${OrtFlavour}${'' | ' (sparse initializers)'}`;
  readonly maxAbsDiff: number;
  readonly maxAbsDiffLogits: number;
  readonly sameTopClass: number;
}

const argmax = (v: Float32Array, at: number, n: number): number => {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[at + i]! > v[at + best]!) best = i;
  return best;
};

/** `graph` with its final softmax removed (a softmax node, or a softmax activation on the output layer). */
function logitsGraph(graph: ModelGraph): ModelGraph {
  const output = graph.nodes.find((n) => n.name === graph.output)!;
  if (output.op === 'softmax') return { ...graph, output: output.input };
  if ((output.op === 'dense' || output.op === 'conv2d') && output.activation === 'softmax') {
    const linear = { ...output, activation: 'linear' as const };
    return { ...graph, nodes: graph.nodes.map((n) => (n === output ? linear : n)) };
  }
  return graph;
}

/** The runtime's outputs on `count` NHWC images, in chunks. */
async function runtimeOutputs(graph: ModelGraph, images: Float32Array, count: number) {
  const net = await createNetwork(graph, { engine: 'wasm-simd' });
  const out = new Float32Array(count * 10);
  for (let at = 0; at < count; at += CHUNK) {
    const n = Math.min(CHUNK, count - at);
    out.set(net.predict(images.subarray(at * PER_IMAGE, (at + n) * PER_IMAGE), n), at * 10);
  }
  return out;
}

/** One onnxruntime's outputs on the same images (transposed to NCHW), in chunks. */
async function ortOutputs(
  flavour: OrtFlavour,
  onnx: Uint8Array,
  images: Float32Array,
  count: number,
): Promise<Float32Array> {
  const session = await createSession(loadPeers(), flavour, onnx);
  const out = new Float32Array(count * 10);
  for (let at = 0; at < count; at += CHUNK) {
    const n = Math.min(CHUNK, count - at);
    const nchw = nhwcToNchw(images.subarray(at * PER_IMAGE, (at + n) * PER_IMAGE), [32, 32, 3], n);
    out.set(await session.run(nchw, [n, 3, 32, 32]), at * 10);
  }
  await session.release();
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function checkModel(
  name: string,
  graph: ModelGraph,
  images: Float32Array,
  count: number,
): Promise<Check[]> {
  const expected = await runtimeOutputs(graph, images, count);
  const expectedLogits = await runtimeOutputs(logitsGraph(graph), images, count);
  const variants: [Check['engine'], OrtFlavour, boolean][] = [
    ['ort-node', 'ort-node', false],
    ['ort-node (sparse initializers)', 'ort-node', true],
    ['ort-web', 'ort-web', false],
  ];
  const checks: Check[] = [];
  for (const [engine, flavour, sparseInitializers] of variants) {
    const options = { sparseInitializers };
    const got = await ortOutputs(flavour, exportOnnx(graph, options), images, count);
    const logits = await ortOutputs(
      flavour,
      exportOnnx(logitsGraph(graph), options),
      images,
      count,
    );
    let sameTopClass = 0;
    for (let b = 0; b < count; b++)
      if (argmax(got, b * 10, 10) === argmax(expected, b * 10, 10)) sameTopClass++;
    const check = {
      model: name,
      engine,
      maxAbsDiff: maxDiff(got, expected),
      maxAbsDiffLogits: maxDiff(logits, expectedLogits),
      sameTopClass,
    };
    checks.push(check);
    process.stderr.write(
      `${name} ${engine}: max |diff| ${check.maxAbsDiff.toExponential(2)}, logits ${check.maxAbsDiffLogits.toExponential(2)}\n`,
    );
  }
  return checks;
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const data = await loadCifar10({
    dataDir,
    trainLimit: 1,
    testLimit: imageCount,
    download: false,
  });
  const count = data.test.count;
  const images = Float32Array.from(data.test.images, (v) => v / 255);
  const models: [string, ModelGraph][] = [];
  for (const model of ['paper-cnn-wide', 'wrn-16-2'])
    for (const sparsity of [0.9, 0])
      models.push([`${model} ${sparsity * 100}%`, await sparseGraph(model, sparsity)]);
  for (const file of flag('--container')) models.push([file, await loadSparse(file)]);
  const checks: Check[] = [];
  for (const [name, graph] of models)
    checks.push(...(await checkModel(name, graph, images, count)));
  const maxAbsDiff = Math.max(...checks.map((c) => c.maxAbsDiff));
  const maxAbsDiffLogits = Math.max(...checks.map((c) => c.maxAbsDiffLogits));
  const result = {
    benchmark: 'verify-onnx',
    date: new Date().toISOString(),
    machine: describeMachine(),
    onnxruntime: loadPeers().version,
    images: count,
    tolerance: TOLERANCE,
    checks,
    maxAbsDiff,
    maxAbsDiffLogits,
    pass: maxAbsDiff <= TOLERANCE,
  };
  writeBenchResult('verify-onnx', result);
  const lines = [
    `ONNX export against the dynaprune runtime, ${count} CIFAR-10 test images, onnxruntime ${result.onnxruntime}`,
    '',
    markdownTable(
      [
        'model',
        { title: 'engine', align: 'left' },
        'max abs diff (probabilities)',
        'max abs diff (logits)',
        'same top class',
      ],
      checks.map((c) => [
        c.model,
        c.engine,
        c.maxAbsDiff.toExponential(2),
        c.maxAbsDiffLogits.toExponential(2),
        `${c.sameTopClass}/${count}`,
      ]),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({ images: count, maxAbsDiff, maxAbsDiffLogits, pass: result.pass }) + '\n',
  );
  if (!result.pass) process.exitCode = 1;
}

tf.env().set('PROD', true); // mute tfjs's console banner
await main();
