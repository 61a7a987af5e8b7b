// The paper's comparison end to end: every row at the paper CNN's budget, over seeds, then measured and summarized.
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSparse, toLayersModel } from '../convert/export.js';
import { modelToGraph } from '../convert/to-graph.js';
import { defaultThreads, initBackend } from '../engine/backend.js';
import { registerDynamicLayers } from '../layers/register.js';
import { summaryFromRuns, type ComparisonMeta, type RunMeasurements } from '../report/from-runs.js';
import { PAPER_NUMBERS, type ModelSummary, type PaperSummary } from '../report/summary.js';
import { folderHandler, savedModelBytes } from '../train/model-files.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { measureLatency } from './latency.js';
import { describeMachine } from './machine.js';
import { multiplyAddsPerImage, nonzeroTrainableParameters } from './model-stats.js';
import { runJobs, type JobEvents } from './paper-jobs.js';
import { readRunFacts } from './run-facts.js';
import {
  PAPER_BUDGET,
  paperPlan,
  paperRowIds,
  type PaperJob,
  type PaperPlanOptions,
  type PaperRowId,
} from './paper-plan.js';

export { budgetSparsity, budgetWidth, PAPER_BUDGET, paperPlan, paperRowIds } from './paper-plan.js';
export type { PaperJob, PaperRowId } from './paper-plan.js';
export { PAPER_NUMBERS };
export type { ModelSummary, PaperSummary };

export interface PaperOptions extends PaperPlanOptions {
  /** Runs trained at once, each in its own process (default 1: one after another, in this process). */
  readonly jobs?: number;
  /**
   * Reuse a run folder that holds a finished run with the same definition, and resume one that was
   * interrupted from its last checkpoint, instead of training it again.
   */
  readonly reuse?: boolean;
}

export interface PaperEvents extends JobEvents {
  /** A phase that takes a while and is not training (timing, writing), for the terminal. */
  onPhase?(line: string): void;
}

async function loadRunModel(runDir: string): Promise<LayersModel> {
  registerDynamicLayers();
  return loadLayersModel(folderHandler(join(runDir, 'model')));
}

/**
 * Exports a finished run's model as a CSR container (model.dpr), and measures nonzeros, sizes,
 * multiply-adds and batch-1 latency; the figures go into its result.json under `measured`.
 */
export async function measureRun(runDir: string): Promise<RunMeasurements> {
  const model = await loadRunModel(runDir);
  try {
    // The container says how to feed it and how it was made (method, sparsity, dataset, test accuracy, version).
    const container = exportSparse(model, { values: 'fp32', run: await readRunFacts(runDir) });
    await writeFile(join(runDir, 'model.dpr'), container);
    const graph = modelToGraph(model);
    const dense = toLayersModel(graph);
    const scratch = await mkdtemp(join(tmpdir(), 'dynaprune-dense-'));
    await dense.save(folderHandler(scratch));
    const denseBytes = await savedModelBytes(scratch);
    await rm(scratch, { recursive: true, force: true });
    const macs = multiplyAddsPerImage(graph);
    const latency = await measureLatency(graph, dense);
    dense.dispose();
    const measured: RunMeasurements = {
      nnz: nonzeroTrainableParameters(model),
      totalParams: model.trainableWeights.reduce(
        (a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 1), 1),
        0,
      ),
      denseBytes,
      storedBytes: container.length,
      macsPerImage: macs.sparse,
      denseMacsPerImage: macs.dense,
      inferMsPerImage: latency.msPerImage,
      inferEngine: latency.engine,
      denseInferMsPerImage: latency.denseMsPerImage,
      denseInferEngine: latency.denseEngine,
    };
    const resultPath = join(runDir, 'result.json');
    const result = JSON.parse(await readFile(resultPath, 'utf8')) as Record<string, unknown>;
    await writeFileAtomic(resultPath, JSON.stringify({ ...result, measured }, null, 2) + '\n');
    return measured;
  } finally {
    model.dispose();
  }
}

/**
 * Trains every (row, seed) of the plan ({@link paperPlan}), `jobs` at once and the longest first (threads
 * of finished runs go to the runs left once none waits, see {@link runJobs}), then exports and times the
 * first seed of each row, writes `paper-run.json`, and returns the summary rebuilt from the run folders
 * ({@link summaryFromRuns}), so `dynaprune report` on the same folder gives the same report.
 */
export async function runPaperComparison(
  options: PaperOptions,
  events: PaperEvents = {},
): Promise<PaperSummary> {
  const started = Date.now();
  const jobs = options.jobs ?? 1;
  // The cores are shared out between the runs trained at once, unless the threads are given.
  const threads = options.threads ?? Math.max(1, Math.floor(defaultThreads() / jobs));
  const plan = paperPlan({ ...options, threads });
  // Threads the user chose stay as chosen; the cores' shares move to the runs left once the queue empties.
  await runJobs(
    plan,
    { parallel: jobs, reuse: options.reuse ?? false, handover: options.threads === undefined },
    events,
  );
  const backend = await initBackend(options.backend, { threads });
  const firsts = new Map<PaperRowId, PaperJob>();
  for (const job of plan) if (!firsts.has(job.row)) firsts.set(job.row, job);
  for (const job of firsts.values()) {
    const result = JSON.parse(await readFile(join(job.config.out, 'result.json'), 'utf8')) as {
      measured?: unknown;
    };
    if (result.measured !== undefined && options.reuse) continue;
    events.onPhase?.(`${job.row}: exporting the CSR container and timing batch-1 inference...`);
    await measureRun(job.config.out);
  }
  const meta: ComparisonMeta = {
    createdAt: new Date().toISOString(),
    command: options.command ?? `dynaprune ${process.argv.slice(2).join(' ')}`,
    machine: describeMachine(),
    backend: backend.backend,
    quick: options.quick,
    budget: PAPER_BUDGET,
    wallSeconds: (Date.now() - started) / 1000,
    rows: paperRowIds.filter((id) => firsts.has(id)),
  };
  await writeFileAtomic(join(options.out, 'paper-run.json'), JSON.stringify(meta, null, 2) + '\n');
  const summary = await summaryFromRuns(options.out, { rowOrder: paperRowIds });
  // Rows of this plan only (the folder may hold others from earlier commands).
  return { ...summary, models: summary.models.filter((m) => firsts.has(m.id as PaperRowId)) };
}
