// Training throughput, dense and sparse, of dynaprune against PyTorch, side by side in one run.
//
// What it measures: images per second of full training steps (forward, backward, Adam; batch 32; random
// data; static masks) for
//   - paper-cnn, dense: dynaprune (tfjs-wasm + dynaprune's kernels, one thread) and PyTorch on one thread;
//   - paper-cnn-wide (width 3, BatchNorm) with every conv and dense layer masked at densities 1, 0.2, 0.1
//     and 0.05 (uniform random masks): dynaprune on the dense path (`--kernels dense`: kernel × mask, dense
//     tfjs ops), dynaprune on the sparse path (`--kernels sparse`), PyTorch with masks
//     (torch.nn.utils.prune, how PyTorch users train sparse) on one thread and on every core;
//   - every core (`initBackend('wasm', { threads: cores })`: tfjs-wasm's threaded build and dynaprune's
//     kernel workers) for paper-cnn dense, paper-cnn-wide dense and paper-cnn-wide at 90% on the sparse
//     path (with XNNPACK on one thread, as `dynaprune train` runs sparse models, and on every thread),
//     against one thread and against PyTorch with as many threads;
//   - DSR's mask updates on paper-cnn-wide at 90% on the sparse path: their share of training time at the
//     paper's shortest rewiring period (100 steps).
// dynaprune's workers also report the CPU time of all their threads per step (what a split costs in work).
// Each case runs in its own child process; rounds interleave the cases (A B C ... A B C ...) and every
// ratio is the median of per-round ratios, so drifts in machine speed cancel out.
//
// Run: npm run bench:train [-- --quick] [-- --rounds N] [-- --only id,id,...]
// Writes bench/results/train-throughput.json, prints a Markdown table; the last line is one JSON object.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';
import { randomImages } from './lib/random-images.js';

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
  /** dynaprune: the kernels of the masked layers. */
  readonly kernels?: 'dense' | 'sparse';
  /** Threads: PyTorch's `torch.set_num_threads`, dynaprune's `initBackend('wasm', { threads })`. */
  readonly threads?: number;
  /** dynaprune: XNNPACK's share of the threads (`initBackend`'s `xnnpackThreads`; default all). */
  readonly xnnpackThreads?: number;
  readonly batches: number;
  readonly warmup: number;
}

interface Sample {
  readonly imagesPerSecond: number;
  /** dynaprune only: CPU time of all the process's threads per step. */
  readonly cpuMsPerStep?: number;
}

/** Worker mode: one dynaprune case, printing one JSON line. */
async function worker(c: Case, dsr: boolean): Promise<void> {
  const { initBackend } = await import('../src/engine/backend.js');
  const { getModel } = await import('../src/models/registry.js');
  const { sparsify } = await import('../src/sparsity/sparsify.js');
  const { train } = await import('../src/train/trainer.js');
  const { DSR, SparseTrainer } = await import('../src/algorithms/index.js');
  const { PeriodicSchedule } = await import('../src/algorithms/schedules.js');
  await initBackend('wasm', { threads: c.threads ?? 1, xnnpackThreads: c.xnnpackThreads });
  const count = BATCH * (c.batches + c.warmup);
  // Random pixels and labels: throughput does not depend on the values.
  const { images, labels } = randomImages(count);
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
  // CPU time of every thread of the process per step: with several threads, how much work the split adds.
  let cpuStart = process.cpuUsage();
  let cpuMsPerStep = 0;
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
        if (p.batch === c.warmup) {
          warmStart = performance.now();
          cpuStart = process.cpuUsage();
        }
        if (p.batch === c.warmup + c.batches) {
          measured = (performance.now() - warmStart) / 1000;
          const cpu = process.cpuUsage(cpuStart);
          cpuMsPerStep = (cpu.user + cpu.system) / 1000 / c.batches;
        }
      },
    },
  });
  const out: Record<string, number> = {
    imagesPerSecond: (c.batches * BATCH) / measured,
    cpuMsPerStep,
    wallMsPerStep: (measured * 1000) / c.batches,
  };
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
            // The sources, as `npm run bench:train` runs them (package.json's #platform/* imports).
            '--conditions=dynaprune-source',
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
  const paperDynaprune = {
    engine: 'dynaprune',
    model: 'paper-cnn',
    density: 1,
    warmup: 5,
  } as const;
  const paperPyTorch = { engine: 'pytorch', model: 'paper-cnn', density: 1, warmup: 10 } as const;
  const cases: Case[] = [{ id: 'paper-dp', ...paperDynaprune, batches: quick ? 30 : 80 }];
  if (allCores > 1) {
    const batches = quick ? 40 : 120;
    cases.push({ id: 'paper-dp-all', ...paperDynaprune, threads: allCores, batches });
  }
  if (havePyTorch) {
    cases.push({ id: 'paper-pt1', ...paperPyTorch, threads: 1, batches: quick ? 60 : 150 });
    if (allCores > 1) {
      const batches = quick ? 60 : 150;
      cases.push({ id: 'paper-ptall', ...paperPyTorch, threads: allCores, batches });
    }
  }
  for (const d of WIDE_DENSITIES) {
    const common = { model: 'paper-cnn-wide', density: d, warmup: 2 } as const;
    for (const kernels of ['dense', 'sparse'] as const) {
      const batches = kernels === 'sparse' && d < 1 ? wideBatches * 2 : wideBatches;
      const dynaprune = { engine: 'dynaprune', kernels, batches, ...common } as const;
      cases.push({ id: `wide${d}-${kernels}`, ...dynaprune });
      // Every core: the dense model on the dense path, and the 90%-sparse model on the sparse path.
      const allCoresRow = (kernels === 'dense' && d === 1) || (kernels === 'sparse' && d === 0.1);
      if (allCores > 1 && allCoresRow) {
        // The sparse path gives XNNPACK one thread, as `dynaprune train` does for sparse runs
        // (xnnpackThreadsFor); the `-xnnall` row keeps XNNPACK on every thread, for the comparison.
        const xnnpack = kernels === 'sparse' ? { xnnpackThreads: 1 } : {};
        cases.push({ id: `wide${d}-${kernels}-all`, ...dynaprune, threads: allCores, ...xnnpack });
        if (kernels === 'sparse') {
          cases.push({ id: `wide${d}-${kernels}-all-xnnall`, ...dynaprune, threads: allCores });
        }
      }
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
  // --only id,id,...: a subset of the cases (for quick comparisons; the summary then has gaps).
  const only = flag('--only')?.split(',');
  const cases = plan(quick, havePyTorch).filter((c) => only === undefined || only.includes(c.id));
  const samples: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.id, []]));
  const cpuMs: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const s = runCase(c) as unknown as Sample;
      samples[c.id]!.push(s.imagesPerSecond);
      if (s.cpuMsPerStep !== undefined) cpuMs[c.id]!.push(s.cpuMsPerStep);
      const cpu = s.cpuMsPerStep === undefined ? '' : `, ${s.cpuMsPerStep.toFixed(0)} ms CPU/step`;
      process.stderr.write(
        `round ${r + 1}/${rounds} ${c.id}: ${s.imagesPerSecond.toFixed(1)} img/s${cpu}\n`,
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
  const dsr = only === undefined || only.includes(dsrCase.id) ? runCase(dsrCase, true) : {};
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
    // dynaprune on every core (threads = cores) against PyTorch with as many threads.
    wideSparse90VsPyTorchAllCores: ratio('wide0.1-sparse-all', 'wide0.1-ptall'),
    wideSparse90OneThreadVsPyTorchAllCores: ratio('wide0.1-sparse', 'wide0.1-ptall'),
    paperCnnDenseVsPyTorch1t: ratio('paper-dp', 'paper-pt1'),
    paperCnnDenseAllCoresVsPyTorchAllCores: ratio('paper-dp-all', 'paper-ptall'),
    // Scaling: every core against one thread, each engine on its own.
    paperCnnDenseAllCoresVsOneThread: ratio('paper-dp-all', 'paper-dp'),
    wideDenseAllCoresVsOneThread: ratio('wide1-dense-all', 'wide1-dense'),
    wideSparse90AllCoresVsOneThread: ratio('wide0.1-sparse-all', 'wide0.1-sparse'),
    wideSparse90AllCoresXnnpackAllVsOneThread: ratio('wide0.1-sparse-all-xnnall', 'wide0.1-sparse'),
    pyTorchPaperCnnAllCoresVsOneThread: ratio('paper-ptall', 'paper-pt1'),
    threadsAllCores: cpus().length,
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
    cpuMsPerStep: cpuMs,
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
    markdownTable(
      [
        { title: 'paper-cnn-wide (w=3) density', align: 'right' },
        'dynaprune dense path',
        'dynaprune sparse path',
        'PyTorch 1 thread',
        'PyTorch all cores',
        'sparse vs dense',
        'sparse vs PyTorch 1t',
        'sparse vs PyTorch all',
      ],
      wideRows.map((r) => [
        String(r.density),
        fmt(r.dense),
        fmt(r.sparse),
        fmt(r.pytorch1t),
        fmt(r.pytorchAll),
        `${fmt(r.sparseVsDense, 2)}x`,
        `${fmt(r.sparseVsPyTorch1t, 2)}x`,
        `${fmt(r.sparseVsPyTorchAll, 2)}x`,
      ]),
    ),
    '',
    `Every core (${cpus().length} threads) against one thread, and against PyTorch with as many threads:`,
    '',
    markdownTable(
      [
        'case',
        'dynaprune 1 thread',
        'dynaprune all cores',
        'scaling',
        'PyTorch all cores',
        'dynaprune all vs PyTorch all',
      ],
      [
        [
          'paper-cnn dense',
          fmt(ips['paper-dp']),
          fmt(ips['paper-dp-all']),
          `${fmt(summary.paperCnnDenseAllCoresVsOneThread, 2)}x`,
          fmt(ips['paper-ptall']),
          `${fmt(summary.paperCnnDenseAllCoresVsPyTorchAllCores, 2)}x`,
        ],
        [
          'paper-cnn-wide dense',
          fmt(ips['wide1-dense']),
          fmt(ips['wide1-dense-all']),
          `${fmt(summary.wideDenseAllCoresVsOneThread, 2)}x`,
          fmt(ips['wide1-ptall']),
          `${fmt(ratio('wide1-dense-all', 'wide1-ptall'), 2)}x`,
        ],
        [
          'paper-cnn-wide 90% sparse path (XNNPACK 1 thread)',
          fmt(ips['wide0.1-sparse']),
          fmt(ips['wide0.1-sparse-all']),
          `${fmt(summary.wideSparse90AllCoresVsOneThread, 2)}x`,
          fmt(ips['wide0.1-ptall']),
          `${fmt(summary.wideSparse90VsPyTorchAllCores, 2)}x`,
        ],
        [
          'the same, XNNPACK on every thread',
          fmt(ips['wide0.1-sparse']),
          fmt(ips['wide0.1-sparse-all-xnnall']),
          `${fmt(summary.wideSparse90AllCoresXnnpackAllVsOneThread, 2)}x`,
          fmt(ips['wide0.1-ptall']),
          `${fmt(ratio('wide0.1-sparse-all-xnnall', 'wide0.1-ptall'), 2)}x`,
        ],
      ],
    ),
    '',
    `DSR mask updates (paper-cnn-wide, 90%, sparse path): ${fmt(dsr['updateMs'])} ms per update, ` +
      `${fmt(dsr['stepMs'])} ms per step: ${fmt((dsr['shareAtPeriod100'] ?? 0) * 100, 2)}% of training at a 100-step period`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify(summary) + '\n');
}

await main();
