// Inference latency of 90%-sparse CNNs: dynaprune's runtime against onnxruntime and dense tfjs, side by side.
//
// What it measures: the median time of one prediction at batch 1 and batch 32, one thread, for
//   - paper-cnn-wide (width 3) with a random 90% mask on every conv and dense kernel;
//   - WRN-16-2 at 90% (DSR's rule: the first conv, the 1x1 shortcuts and the classifier stay dense);
//   - the same two models at sparsity 0 (the runtime's dense path),
// on six engines with the same weights: the dynaprune runtime (WebAssembly SIMD, CSR kernels);
// onnxruntime-node (native CPU, all graph optimizations) and onnxruntime-web (WebAssembly SIMD, one thread)
// running the model exported with exportOnnx (dense initializers, zeros included); PyTorch (where
// /usr/bin/python3 has torch: the same exported node list traced, frozen and passed through
// torch.jit.optimize_for_inference, timed inside Python by bench/pytorch_infer.py); tfjs-wasm (XNNPACK) and
// tfjs-cpu running the dense model. The peers come from the bench-only package bench/peers/ (installed with
// `npm ci --ignore-scripts` on first use). Rounds interleave the engines and speedups are medians of
// per-round ratios (peer time / runtime time: above 1, the runtime is faster). The ideal speedup is dense
// multiply-adds / sparse ones. Every engine's outputs are compared with the runtime's (max abs difference).
//
// GFLOP/s = 2 x multiply-adds per image x batch / time, counting the conv and dense layers only. Dense
// engines are credited with the dense model's multiply-adds (zeros included: they do them); the sparse
// runtime with the multiply-adds it performs, nonzero weights only (`gflopsEffective` in the JSON credits
// it with the dense count instead).
//
// Run: npm run bench:infer [-- --quick] [-- --rounds N] [-- --engines ort-node,ort-web,tfjs-wasm]. Writes bench/results/infer-latency.json and prints
// two tables; the last line is JSON with minSpeedupVsTfjsWasmBatch1, minSpeedupVsOrtNodeBatch1,
// minSpeedupVsOrtWebBatch1, minSpeedupVsOrtNodeBatch32, minSpeedupVsPytorchBatch1 (each the smaller of the two 90% models'), the
// dense path's worst slowdown against tfjs-wasm, each engine's GFLOP/s per case and the largest output
// difference.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { graphToLayersModel } from '../src/convert/from-graph.js';
import { exportOnnx, toOnnxModel } from '../src/convert/onnx-export.js';
import { initBackend } from '../src/engine/backend.js';
import type { ModelGraph } from '../src/graph/types.js';
import { createNetwork } from '../src/runtime/index.js';
import { multiplyAddsPerImage } from '../src/experiments/model-stats.js';
import { median, sparseGraph } from './lib/sparse-graph.js';
import { createSession, loadPeers, nhwcToNchw, type PeerSession } from './lib/peers.js';
import { PytorchPeer } from './lib/pytorch.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';

const quick = process.argv.includes('--quick');
const roundsFlag = process.argv.indexOf('--rounds');
const rounds = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : quick ? 2 : 5;

const allEngines = ['runtime', 'ort-node', 'ort-web', 'pytorch', 'tfjs-wasm', 'tfjs-cpu'] as const;
type Engine = (typeof allEngines)[number];
/**
 * The engines of this run: all, or the runtime and those `--engines a,b` names (on a loaded machine tfjs-cpu
 * and PyTorch take most of a run: seconds per batch-32 call); left-out engines print as dashes. PyTorch
 * also drops out (with a message) where /usr/bin/python3 has no torch.
 */
const enginesFlag = process.argv.indexOf('--engines');
const chosen: readonly string[] =
  enginesFlag > 0 ? (process.argv[enginesFlag + 1] ?? '').split(',') : allEngines;
let engines: Engine[] = allEngines.filter((e) => e === 'runtime' || chosen.includes(e));
let pytorch: PytorchPeer | undefined;

interface Case {
  readonly model: string;
  readonly sparsity: number;
  readonly batch: number;
  readonly graph: ModelGraph;
  readonly onnx: Uint8Array;
  readonly macs: { readonly sparse: number; readonly dense: number };
  /** Deterministic pixels in [0, 1], NHWC for the runtime and tfjs, NCHW for onnxruntime. */
  readonly nhwc: Float32Array;
  readonly nchw: Float32Array;
}

const key = (c: Case) => `${c.model} ${c.sparsity * 100}% b${c.batch}`;

/** Median milliseconds of an async call (onnxruntime's run returns a promise). */
async function timeMedianAsync(once: () => Promise<unknown>, runs: number, warmup: number) {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** One onnxruntime session per model and flavour, kept across rounds (creating one takes seconds). */
const sessions = new Map<string, PeerSession>();
async function session(c: Case, engine: 'ort-node' | 'ort-web'): Promise<PeerSession> {
  const id = `${c.model} ${c.sparsity} ${engine}`;
  let s = sessions.get(id);
  if (!s) {
    s = await createSession(loadPeers(), engine, c.onnx);
    sessions.set(id, s);
  }
  return s;
}

/** Runs `c` once on `engine` and returns the output (for the agreement check) and a timing closure. */
async function prepare(
  c: Case,
  engine: Engine,
): Promise<{ run: () => Promise<Float32Array>; dispose: () => void }> {
  if (engine === 'runtime') {
    const net = await createNetwork(c.graph, { engine: 'wasm-simd' });
    return { run: async () => net.predict(c.nhwc, c.batch), dispose: () => undefined };
  }
  if (engine === 'ort-node' || engine === 'ort-web') {
    const s = await session(c, engine);
    return { run: () => s.run(c.nchw, [c.batch, 3, 32, 32]), dispose: () => undefined };
  }
  await tf.setBackend(engine === 'tfjs-wasm' ? 'wasm' : 'cpu');
  const model = graphToLayersModel(c.graph);
  const x = tf.tensor4d(c.nhwc, [c.batch, 32, 32, 3]);
  return {
    run: async () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array),
    dispose: () => {
      x.dispose();
      model.dispose();
    },
  };
}

/** PyTorch models loaded in the Python server, by model and sparsity. */
const torchModels = new Set<string>();

/** Median ms of `c` on `engine`; with `outputs`, also records the engine's output once. */
async function measure(c: Case, engine: Engine, outputs?: Map<Engine, Float32Array>) {
  const slow = engine === 'tfjs-cpu';
  const runs = slow ? (c.batch === 1 ? 3 : 1) : c.batch === 1 ? (quick ? 30 : 100) : quick ? 3 : 10;
  if (engine === 'pytorch') {
    const name = `${c.model}-${c.sparsity}`;
    if (!torchModels.has(name)) {
      await pytorch!.load(name, toOnnxModel(c.graph), [3, 32, 32]);
      torchModels.add(name);
    }
    const { ms, output } = await pytorch!.run(name, c.batch, runs, 5);
    outputs?.set(engine, output);
    return ms;
  }
  const prepared = await prepare(c, engine);
  outputs?.set(engine, await prepared.run());
  const ms = await timeMedianAsync(prepared.run, runs, slow ? 0 : 5);
  prepared.dispose();
  return ms;
}

async function buildCases(): Promise<Case[]> {
  const cases: Case[] = [];
  for (const model of ['paper-cnn-wide', 'wrn-16-2']) {
    for (const sparsity of [0.9, 0]) {
      const graph = await sparseGraph(model, sparsity);
      const onnx = exportOnnx(graph);
      const macs = multiplyAddsPerImage(graph);
      for (const batch of [1, 32]) {
        const nhwc = Float32Array.from(
          { length: batch * 3072 },
          (_, i) => ((i * 7919) % 255) / 255,
        );
        const nchw = nhwcToNchw(nhwc, [32, 32, 3], batch);
        cases.push({ model, sparsity, batch, graph, onnx, macs, nhwc, nchw });
      }
    }
  }
  return cases;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

type Samples = Record<Engine, number[]>;

/** Interleaved rounds: every case on every engine per round; outputs compared in the first round. */
async function runRounds(cases: Case[]) {
  const samples = new Map<string, Samples>();
  const diffs = new Map<string, Partial<Record<Engine, number>>>();
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const entry =
        samples.get(key(c)) ??
        (Object.fromEntries(allEngines.map((e) => [e, []])) as unknown as Samples);
      const outputs = r === 0 ? new Map<Engine, Float32Array>() : undefined;
      for (const engine of engines) {
        // tfjs-cpu takes seconds per batch-32 call on WRN; once is enough to place it.
        if (engine === 'tfjs-cpu' && r > 0) continue;
        entry[engine].push(await measure(c, engine, outputs));
      }
      samples.set(key(c), entry);
      if (outputs) {
        const reference = outputs.get('runtime')!;
        const d = Object.fromEntries(
          engines
            .filter((e) => e !== 'runtime')
            .map((e) => [e, maxAbsDiff(outputs.get(e)!, reference)]),
        );
        diffs.set(key(c), d);
        process.stderr.write(`outputs vs runtime, ${key(c)}: ${JSON.stringify(d)}\n`);
      }
      process.stderr.write(`round ${r + 1}/${rounds} ${key(c)}\n`);
    }
  }
  return { samples, diffs };
}

const gflops = (macsPerImage: number, batch: number, ms: number) =>
  (2 * macsPerImage * batch) / (ms * 1e6);

function summarize(c: Case, s: Samples, diffs: Partial<Record<Engine, number>>) {
  const speedup = (peer: Engine) => median(s.runtime.map((t, i) => s[peer][i]! / t));
  const ms = Object.fromEntries(
    allEngines.map((e) => [e, s[e].length > 0 ? median(s[e]) : NaN]),
  ) as Record<Engine, number>;
  const speedupVsTfjsWasm = speedup('tfjs-wasm');
  return {
    model: c.model,
    sparsity: c.sparsity,
    batch: c.batch,
    ms,
    speedupVsOrtNode: speedup('ort-node'),
    speedupVsOrtWeb: speedup('ort-web'),
    speedupVsPytorch: engines.includes('pytorch') ? speedup('pytorch') : null,
    speedupVsTfjsWasm,
    speedupVsTfjsCpu: ms['tfjs-cpu'] / ms.runtime,
    idealSpeedup: c.macs.dense / c.macs.sparse,
    fractionOfIdeal: c.sparsity > 0 ? speedupVsTfjsWasm / (c.macs.dense / c.macs.sparse) : null,
    /** Dense engines at dense multiply-adds; the runtime at the multiply-adds it performs. */
    gflops: Object.fromEntries(
      allEngines.map((e) => [
        e,
        gflops(e === 'runtime' ? c.macs.sparse : c.macs.dense, c.batch, ms[e]),
      ]),
    ) as Record<Engine, number>,
    /** The runtime credited with the dense model's multiply-adds (the work it saves counted as done). */
    gflopsEffective: gflops(c.macs.dense, c.batch, ms.runtime),
    maxAbsDiffVsRuntime: diffs,
  };
}

type Row = ReturnType<typeof summarize>;

function printTables(rows: Row[], machine: ReturnType<typeof describeMachine>, load: number[]) {
  const f = (v: number | null, d = 2) => (v === null || Number.isNaN(v) ? '—' : v.toFixed(d));
  const worstDiff = (r: Row) => Math.max(...Object.values(r.maxAbsDiffVsRuntime));
  const x = (v: number | null) => `${f(v)}x`;
  const lines = [
    `Inference latency, median ms, ${rounds} interleaved round(s), 1 thread, ${machine.cpuModel} (${machine.cpus} cores, no GPU), load average ${load.map((l) => l.toFixed(1)).join(' / ')}`,
    '',
    markdownTable(
      [
        'model',
        'sparsity',
        'batch',
        'runtime',
        'ort-node',
        'ort-web',
        'pytorch',
        'tfjs-wasm',
        'tfjs-cpu',
        'vs ort-node',
        'vs ort-web',
        'vs pytorch',
        'vs tfjs-wasm',
        'ideal',
        'of ideal',
        'max diff',
      ],
      rows.map((r) => [
        r.model,
        String(r.sparsity),
        String(r.batch),
        f(r.ms.runtime, 3),
        f(r.ms['ort-node'], 3),
        f(r.ms['ort-web'], 3),
        f(r.ms.pytorch, 3),
        f(r.ms['tfjs-wasm'], 3),
        f(r.ms['tfjs-cpu'], 1),
        x(r.speedupVsOrtNode),
        x(r.speedupVsOrtWeb),
        x(r.speedupVsPytorch),
        x(r.speedupVsTfjsWasm),
        `${f(r.idealSpeedup, 1)}x`,
        r.fractionOfIdeal === null ? '—' : `${(100 * r.fractionOfIdeal).toFixed(0)}%`,
        worstDiff(r).toExponential(1),
      ]),
    ),
    '',
    'GFLOP/s (2 x conv/dense multiply-adds per second; runtime: nonzero ones, others: dense ones)',
    '',
    markdownTable(
      [
        'model',
        'sparsity',
        'batch',
        'runtime',
        'runtime (dense-equivalent)',
        'ort-node',
        'ort-web',
        'pytorch',
        'tfjs-wasm',
        'tfjs-cpu',
      ],
      rows.map((r) => [
        r.model,
        String(r.sparsity),
        String(r.batch),
        f(r.gflops.runtime, 1),
        f(r.gflopsEffective, 1),
        f(r.gflops['ort-node'], 1),
        f(r.gflops['ort-web'], 1),
        f(r.gflops.pytorch, 1),
        f(r.gflops['tfjs-wasm'], 1),
        f(r.gflops['tfjs-cpu'], 2),
      ]),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  await initBackend('wasm');
  loadPeers(); // installs bench/peers on first use, before anything is timed
  const torch = engines.includes('pytorch') ? await PytorchPeer.start() : 'not asked for';
  if (typeof torch === 'string') {
    process.stderr.write(`PyTorch row skipped: ${torch}\n`);
    engines = engines.filter((e) => e !== 'pytorch');
  } else pytorch = torch;
  const loadBefore = loadavg();
  const cases = await buildCases();
  const { samples, diffs } = await runRounds(cases);
  const loadAfter = loadavg();
  for (const s of sessions.values()) await s.release();
  pytorch?.close();
  const rows = cases.map((c) => summarize(c, samples.get(key(c))!, diffs.get(key(c))!));
  const sparse = (batch: number) => rows.filter((r) => r.sparsity > 0 && r.batch === batch);
  const min = (rs: Row[], pick: (r: Row) => number) => Math.min(...rs.map(pick));
  const summary = {
    minSpeedupVsTfjsWasmBatch1: min(sparse(1), (r) => r.speedupVsTfjsWasm),
    minSpeedupVsOrtNodeBatch1: min(sparse(1), (r) => r.speedupVsOrtNode),
    minSpeedupVsOrtWebBatch1: min(sparse(1), (r) => r.speedupVsOrtWeb),
    minSpeedupVsOrtNodeBatch32: min(sparse(32), (r) => r.speedupVsOrtNode),
    minSpeedupVsPytorchBatch1: pytorch ? min(sparse(1), (r) => r.speedupVsPytorch!) : null,
    worstDenseSlowdownVsTfjsWasm: Math.max(
      ...rows.filter((r) => r.sparsity === 0).map((r) => 1 / r.speedupVsTfjsWasm),
    ),
    gflops: Object.fromEntries(
      [...engines, 'runtime-dense-equivalent'].map((e) => [
        e,
        Object.fromEntries(
          rows.map((r) => [
            `${r.model} ${r.sparsity * 100}% b${r.batch}`,
            Number(
              (e === 'runtime-dense-equivalent'
                ? r.gflopsEffective
                : r.gflops[e as Engine]
              ).toFixed(2),
            ),
          ]),
        ),
      ]),
    ),
    maxAbsDiffVsRuntime: Math.max(...rows.flatMap((r) => Object.values(r.maxAbsDiffVsRuntime))),
  };
  const machine = { ...describeMachine(), threads: 1 };
  const load = { before: loadBefore, after: loadAfter };
  const onnxruntime = loadPeers().version;
  writeBenchResult('infer-latency', {
    benchmark: 'infer-latency',
    date: new Date().toISOString(),
    machine,
    loadAverage: load,
    onnxruntime,
    pytorch: pytorch?.torchVersion ?? null,
    rounds,
    rows,
    ...summary,
  });
  printTables(rows, machine, loadAfter);
  process.stdout.write(JSON.stringify(summary) + '\n');
}

tf.env().set('PROD', true); // mute tfjs's console banner
await main();
