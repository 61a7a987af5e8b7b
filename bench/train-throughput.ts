// Training throughput, dense and sparse, of dynaprune against PyTorch, side by side in one run.
//
// What it measures: images per second of full training steps (forward, backward, Adam; batch 32; random
// data; static masks) for
//   - paper-cnn, dense: dynaprune (tfjs-wasm + dynaprune's kernels, one thread) and PyTorch on one thread;
//   - paper-cnn-wide (width 3, BatchNorm) with every conv and dense layer masked at densities 1, 0.2, 0.1
//     and 0.05 (uniform random masks): dynaprune on the dense path (`--kernels dense`: kernel × mask, dense
//     tfjs ops), dynaprune on the sparse path (`--kernels sparse`), PyTorch with masks
//     (torch.nn.utils.prune, how PyTorch users train sparse) on one thread and on every core;
//   - DSR's mask updates on paper-cnn-wide at 90% on the sparse path: their share of training time at the
//     paper's shortest rewiring period (100 steps).
// Each case runs in its own child process; rounds interleave the cases (A B C ... A B C ...) and every
// ratio is the median of per-round ratios, so drifts in machine speed cancel out.
//
// Run: npm run bench:train [-- --quick] [-- --rounds N]
// Writes bench/results/train-throughput.json, prints a Markdown table; the last line is one JSON object.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, writeBenchResult } from './lib/results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const BATCH = 32;
const WIDE_DENSITIES = [1, 0.2, 0.1, 0.05] as const;

type Engine = 'dynaprune' | 'pytorch';
interface Case {
  readonly id: string;
  readonly engine: Engine;
  readonly model: 'paper-cnn' | 'paper-cnn-wide';
  readonly density: number;
  /** dynaprune: the kernels of the masked layers; PyTorch: threads. */
  readonly kernels?: 'dense' | 'sparse';
  readonly threads?: number;
  readonly batches: number;
  readonly warmup: number;
}

interface Sample {
  readonly imagesPerSecond: number;
}

/** Worker mode: one dynaprune case, printing one JSON line. */
async function worker(c: Case, dsr: boolean): Promise<void> {
  const { initBackend } = await import('../src/engine/backend.js');
  const { getModel } = await import('../src/models/registry.js');
  const { sparsify } = await import('../src/sparsity/sparsify.js');
  const { train } = await import('../src/train/trainer.js');
  const { DSR, SparseTrainer } = await import('../src/algorithms/index.js');
  const { PeriodicSchedule } = await import('../src/algorithms/schedules.js');
  await initBackend('wasm');
  const count = BATCH * (c.batches + c.warmup);
  // Random pixels and labels: throughput does not depend on the values.
  const images = new Uint8Array(count * 3072);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const dense = getModel(c.model).build({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const model =
    c.model === 'paper-cnn'
      ? dense
      : (
          await sparsify(dense, {
            sparsity: 1 - c.density,
            distribution: 'uniform',
            maskInit: 'random',
            seed: 1,
          })
        ).model;
  // DSR every 10 steps here, so that a short run holds several updates; the share is then rescaled.
  const period = 10;
  const hooks = dsr
    ? [new SparseTrainer(model, new DSR({ schedule: new PeriodicSchedule(period) }))]
    : [];
  let warmStart = 0;
  let measured = 0;
  const result = await train({
    model,
    train: { images, labels, count },
    validation: { images: images.subarray(0, 3072), labels: labels.subarray(0, 1), count: 1 },
    inputShape: [32, 32, 3],
    epochs: 1,
    batchSize: BATCH,
    learningRate: 1e-3,
    seed: 1,
    hooks,
    kernels: c.kernels ?? 'auto',
    callbacks: {
      onBatchEnd: (p) => {
        if (p.batch === c.warmup) warmStart = performance.now();
        if (p.batch === c.warmup + c.batches) measured = (performance.now() - warmStart) / 1000;
      },
    },
  });
  const out: Record<string, number> = { imagesPerSecond: (c.batches * BATCH) / measured };
  if (dsr) {
    const updates = result.sparsity.length - 1;
    const updateSeconds = result.maskUpdateSeconds / updates;
    const stepSeconds = (result.trainSeconds - result.maskUpdateSeconds) / result.steps;
    out['updates'] = updates;
    out['updateMs'] = updateSeconds * 1000;
    out['stepMs'] = stepSeconds * 1000;
    out['shareAtPeriod100'] = updateSeconds / (100 * stepSeconds + updateSeconds);
    out['shareAtPeriod10'] = updateSeconds / (period * stepSeconds + updateSeconds);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runCase(c: Case, dsr = false): Record<string, number> {
  const out =
    c.engine === 'pytorch'
      ? execFileSync(
          '/usr/bin/python3',
          [
            join(here, 'pytorch_paper_cnn.py'),
            ...['--model', c.model, '--density', String(c.density)],
            ...['--threads', String(c.threads ?? 1), '--width', '3'],
            ...['--batches', String(c.batches), '--warmup', String(c.warmup)],
          ],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
        )
      : execFileSync(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(import.meta.url),
            '--worker',
            JSON.stringify(c),
            ...(dsr ? ['--dsr'] : []),
          ],
          { encoding: 'utf8', cwd: root, stdio: ['ignore', 'pipe', 'ignore'] },
        );
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function plan(quick: boolean, havePyTorch: boolean): Case[] {
  const allCores = cpus().length;
  const wideBatches = quick ? 4 : 8;
  const cases: Case[] = [
    {
      id: 'paper-dp',
      engine: 'dynaprune',
      model: 'paper-cnn',
      density: 1,
      batches: quick ? 30 : 80,
      warmup: 5,
    },
  ];
  if (havePyTorch) {
    cases.push({
      id: 'paper-pt1',
      engine: 'pytorch',
      model: 'paper-cnn',
      density: 1,
      threads: 1,
      batches: quick ? 60 : 150,
      warmup: 10,
    });
  }
  for (const d of WIDE_DENSITIES) {
    const common = { model: 'paper-cnn-wide', density: d, warmup: 2 } as const;
    for (const kernels of ['dense', 'sparse'] as const) {
      cases.push({
        id: `wide${d}-${kernels}`,
        engine: 'dynaprune',
        kernels,
        batches: kernels === 'sparse' && d < 1 ? wideBatches * 2 : wideBatches,
        ...common,
      });
    }
    if (havePyTorch) {
      for (const threads of [1, allCores]) {
        const id = `wide${d}-pt${threads === 1 ? '1' : 'all'}`;
        cases.push({ id, engine: 'pytorch', threads, batches: wideBatches, ...common });
      }
    }
  }
  return cases;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const workerCase = flag('--worker');
  if (workerCase) {
    await worker(JSON.parse(workerCase) as Case, args.includes('--dsr'));
    return;
  }
  const quick = args.includes('--quick');
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 3));
  let havePyTorch = true;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    havePyTorch = false;
    process.stderr.write('PyTorch unavailable (/usr/bin/python3 -c "import torch" failed)\n');
  }
  const loadBefore = loadavg();
  const cases = plan(quick, havePyTorch);
  const samples: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const s = runCase(c) as unknown as Sample;
      samples[c.id]!.push(s.imagesPerSecond);
      process.stderr.write(
        `round ${r + 1}/${rounds} ${c.id}: ${s.imagesPerSecond.toFixed(1)} img/s\n`,
      );
    }
  }
  const dsrCase: Case = {
    id: 'wide0.1-sparse-dsr',
    engine: 'dynaprune',
    model: 'paper-cnn-wide',
    density: 0.1,
    kernels: 'sparse',
    batches: quick ? 20 : 40,
    warmup: 1,
  };
  const dsr = runCase(dsrCase, true);
  const loadAfter = loadavg();
  const ratio = (a: string, b: string): number | null => {
    const n = Math.min(samples[a]?.length ?? 0, samples[b]?.length ?? 0);
    if (n === 0) return null;
    return median(Array.from({ length: n }, (_, i) => samples[a]![i]! / samples[b]![i]!));
  };
  const ips = Object.fromEntries(cases.map((c) => [c.id, median(samples[c.id]!)]));
  const wideRows = WIDE_DENSITIES.map((d) => ({
    density: d,
    dense: ips[`wide${d}-dense`]!,
    sparse: ips[`wide${d}-sparse`]!,
    pytorch1t: ips[`wide${d}-pt1`] ?? null,
    pytorchAll: ips[`wide${d}-ptall`] ?? null,
    sparseVsDense: ratio(`wide${d}-sparse`, `wide${d}-dense`),
    sparseVsPyTorch1t: ratio(`wide${d}-sparse`, `wide${d}-pt1`),
    sparseVsPyTorchAll: ratio(`wide${d}-sparse`, `wide${d}-ptall`),
  }));
  const summary = {
    wideSparse90VsDense: ratio('wide0.1-sparse', 'wide0.1-dense'),
    wideSparse90VsPyTorch1t: ratio('wide0.1-sparse', 'wide0.1-pt1'),
    wideSparse90VsPyTorchAllCores: ratio('wide0.1-sparse', 'wide0.1-ptall'),
    paperCnnDenseVsPyTorch1t: ratio('paper-dp', 'paper-pt1'),
    dsrMaskUpdateShareAtPeriod100: dsr['shareAtPeriod100'] ?? null,
    loadAverage: { before: loadBefore, after: loadAfter },
  };
  const machine = describeMachine();
  writeBenchResult('train-throughput', {
    benchmark: 'train-throughput',
    batchSize: BATCH,
    date: new Date().toISOString(),
    machine,
    rounds,
    cases,
    samples,
    imagesPerSecond: ips,
    wide: wideRows,
    dsr,
    summary,
  });
  const fmt = (v: number | null | undefined, d = 1) => (v == null ? 'n/a' : v.toFixed(d));
  const lines = [
    `Training throughput, batch ${BATCH}, ${rounds} round(s), ${machine.cpuModel} (${machine.cpus} cores, no GPU), ` +
      `load average ${loadBefore.map((l) => l.toFixed(1)).join('/')} before, ${loadAfter.map((l) => l.toFixed(1)).join('/')} after`,
    '',
    `paper-cnn dense: dynaprune ${fmt(ips['paper-dp'])} img/s, PyTorch 1 thread ${fmt(ips['paper-pt1'])} img/s, ` +
      `ratio ${fmt(summary.paperCnnDenseVsPyTorch1t, 2)}x`,
    '',
    '| paper-cnn-wide (w=3) density | dynaprune dense path | dynaprune sparse path | PyTorch 1 thread | PyTorch all cores | sparse vs dense | sparse vs PyTorch 1t | sparse vs PyTorch all |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...wideRows.map(
      (r) =>
        `| ${r.density} | ${fmt(r.dense)} | ${fmt(r.sparse)} | ${fmt(r.pytorch1t)} | ${fmt(r.pytorchAll)} | ` +
        `${fmt(r.sparseVsDense, 2)}x | ${fmt(r.sparseVsPyTorch1t, 2)}x | ${fmt(r.sparseVsPyTorchAll, 2)}x |`,
    ),
    '',
    `DSR mask updates (paper-cnn-wide, 90%, sparse path): ${fmt(dsr['updateMs'])} ms per update, ` +
      `${fmt(dsr['stepMs'])} ms per step: ${fmt((dsr['shareAtPeriod100'] ?? 0) * 100, 2)}% of training at a 100-step period`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify(summary) + '\n');
}

await main();
