// Training throughput of the paper CNN (batch 32, one thread) on each engine, side by side in one run.
//
// What it measures: images per second of full training steps (forward, backward, Adam) of `paper-cnn` on
// random data, for
//   - tfjs `cpu`;
//   - tfjs `wasm` with only the transposed-convolution filter gradient (DESIGN.md's workaround);
//   - tfjs `wasm` with all of dynaprune's training kernels;
//   - PyTorch on one thread (where /usr/bin/python3 has torch).
// Each engine runs in its own child process; rounds interleave the engines (A B C D A B C D ...) and the
// speedups are medians of per-round ratios, so drifts in machine speed cancel out.
//
// Run: npm run bench:train [-- --quick] [-- --rounds N]
// Writes bench/results/train-throughput.json and prints a Markdown table.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, writeBenchResult } from './lib/results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

type Engine = 'cpu' | 'wasm-transposed-conv' | 'wasm-dynaprune' | 'pytorch';
interface Sample {
  readonly imagesPerSecond: number;
  readonly batches: number;
}

const BATCH = 32;

/** Worker mode: train `batches` steps after `warmup` steps on one tfjs engine and print one JSON line. */
async function worker(engine: Engine, batches: number, warmup: number): Promise<void> {
  const { initBackend } = await import('../src/engine/backend.js');
  const { getModel } = await import('../src/models/registry.js');
  const { train } = await import('../src/train/trainer.js');
  await initBackend(engine === 'cpu' ? 'cpu' : 'wasm', {
    trainingKernels: engine === 'wasm-transposed-conv' ? 'transposed-conv-only' : 'all',
  });
  const count = BATCH * (batches + warmup);
  // Random pixels and labels: throughput does not depend on the values.
  const images = new Uint8Array(count * 3072);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const model = getModel('paper-cnn').build({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  let warmStart = 0;
  let measured = 0;
  await train({
    model,
    train: { images, labels, count },
    validation: { images: images.subarray(0, 3072), labels: labels.subarray(0, 1), count: 1 },
    inputShape: [32, 32, 3],
    epochs: 1,
    batchSize: BATCH,
    learningRate: 1e-3,
    seed: 1,
    callbacks: {
      onBatchEnd: (p) => {
        if (p.batch === warmup) warmStart = performance.now();
        if (p.batch === warmup + batches) measured = (performance.now() - warmStart) / 1000;
      },
    },
  });
  const sample: Sample = { imagesPerSecond: (batches * BATCH) / measured, batches };
  process.stdout.write(JSON.stringify(sample) + '\n');
}

function runEngine(engine: Engine, batches: number, warmup: number): Sample | undefined {
  if (engine === 'pytorch') {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) return undefined;
    const out = execFileSync(
      '/usr/bin/python3',
      [
        join(here, 'pytorch_paper_cnn.py'),
        '--batches',
        String(batches),
        '--warmup',
        String(warmup),
      ],
      { encoding: 'utf8' },
    );
    return JSON.parse(out.trim().split('\n').pop()!) as Sample;
  }
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--worker',
      engine,
      '--batches',
      String(batches),
      '--warmup',
      String(warmup),
    ],
    { encoding: 'utf8', cwd: root, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Sample;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const workerEngine = flag('--worker') as Engine | undefined;
  if (workerEngine) {
    await worker(workerEngine, Number(flag('--batches')), Number(flag('--warmup')));
    return;
  }
  const quick = args.includes('--quick');
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 3));
  // Batches per measurement: enough for ~5-20 s per engine; cpu is ~300x slower, so it gets a few.
  const plan: Record<Engine, { batches: number; warmup: number }> = {
    cpu: { batches: quick ? 1 : 2, warmup: 1 },
    'wasm-transposed-conv': { batches: quick ? 20 : 60, warmup: 5 },
    'wasm-dynaprune': { batches: quick ? 40 : 150, warmup: 5 },
    pytorch: { batches: quick ? 100 : 300, warmup: 10 },
  };
  const engines = Object.keys(plan) as Engine[];
  const samples: Record<Engine, number[]> = {
    cpu: [],
    'wasm-transposed-conv': [],
    'wasm-dynaprune': [],
    pytorch: [],
  };
  for (let r = 0; r < rounds; r++) {
    for (const engine of engines) {
      const s = runEngine(engine, plan[engine].batches, plan[engine].warmup);
      if (s) samples[engine].push(s.imagesPerSecond);
      process.stderr.write(
        `round ${r + 1}/${rounds} ${engine}: ${s ? s.imagesPerSecond.toFixed(1) + ' img/s' : 'unavailable'}\n`,
      );
    }
  }
  const pairedRatio = (a: Engine, b: Engine): number | null => {
    const n = Math.min(samples[a].length, samples[b].length);
    if (n === 0) return null;
    return median(Array.from({ length: n }, (_, i) => samples[a][i]! / samples[b][i]!));
  };
  const result = {
    benchmark: 'train-throughput',
    model: 'paper-cnn',
    batchSize: BATCH,
    threads: 1,
    date: new Date().toISOString(),
    machine: describeMachine(),
    rounds,
    imagesPerSecond: Object.fromEntries(
      engines.map((e) => [e, samples[e].length ? median(samples[e]) : null]),
    ),
    samples,
    speedup: {
      dynapruneVsTransposedConv: pairedRatio('wasm-dynaprune', 'wasm-transposed-conv'),
      dynapruneVsCpu: pairedRatio('wasm-dynaprune', 'cpu'),
      dynapruneVsPytorch: pairedRatio('wasm-dynaprune', 'pytorch'),
    },
  };
  writeBenchResult('train-throughput', result);
  const fmt = (v: number | null | undefined, d = 1) => (v == null ? 'n/a' : v.toFixed(d));
  const ips = result.imagesPerSecond as Record<Engine, number | null>;
  const lines = [
    `Training throughput, paper-cnn, batch ${BATCH}, 1 thread, ${rounds} round(s), ${result.machine.cpuModel} (${result.machine.cpus} cores, no GPU)`,
    '',
    '| engine | images/s (median) | vs wasm + transposed conv |',
    '|---|---:|---:|',
    ...engines.map(
      (e) =>
        `| ${e} | ${fmt(ips[e])} | ${fmt(ips[e] != null && ips['wasm-transposed-conv'] ? ips[e]! / ips['wasm-transposed-conv']! : null, 2)}x |`,
    ),
    '',
    `dynaprune wasm vs transposed-conv workaround (median of paired ratios): ${fmt(result.speedup.dynapruneVsTransposedConv, 2)}x`,
    `dynaprune wasm vs PyTorch (1 thread): ${fmt(result.speedup.dynapruneVsPytorch, 2)}x`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      speedupVsTransposedConv: result.speedup.dynapruneVsTransposedConv,
      speedupVsPytorch: result.speedup.dynapruneVsPytorch,
    }) + '\n',
  );
}

await main();
