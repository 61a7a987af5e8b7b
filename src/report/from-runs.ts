// Rebuilds a comparison's summary from its run folders' small files alone (config, metrics, sparsity, result).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataNotFoundError } from '../errors.js';
import {
  densityHistory,
  PAPER_NUMBERS,
  type EpochSummary,
  type LayerNonzeros,
  type ModelSummary,
  type PaperSummary,
  type RecalibrationRecord,
  type SeedResult,
  type SparsitySummary,
} from './summary.js';

/** What `dynaprune paper` writes at the top of its folder: the facts no single run holds. */
export interface ComparisonMeta {
  readonly createdAt: string;
  readonly command: string;
  readonly machine: PaperSummary['machine'];
  readonly backend: string;
  readonly quick: boolean;
  readonly budget: number;
  readonly wallSeconds: number;
  /** Row ids in report order. */
  readonly rows: readonly string[];
}

/** The export measurements `dynaprune paper` adds to the first seed's result.json. */
export interface RunMeasurements {
  readonly nnz: number;
  readonly totalParams: number;
  readonly denseBytes: number;
  readonly storedBytes: number;
  readonly macsPerImage: number;
  readonly denseMacsPerImage: number;
  readonly inferMsPerImage: number;
  readonly inferEngine: string;
  readonly denseInferMsPerImage?: number;
  readonly denseInferEngine?: string;
}

interface RunFiles {
  readonly dir: string;
  readonly seed: number;
  readonly config: Record<string, unknown>;
  readonly result: Record<string, unknown>;
  readonly metrics: EpochSummary[];
  readonly sparsity: SparsitySummary[];
}

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);

async function readRun(dir: string, seed: number): Promise<RunFiles | undefined> {
  if (!existsSync(join(dir, 'result.json'))) return undefined;
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  return {
    dir,
    seed,
    config: JSON.parse(await read('config.json')) as Record<string, unknown>,
    result: JSON.parse(await read('result.json')) as Record<string, unknown>,
    metrics: jsonLines(await read('metrics.jsonl')) as EpochSummary[],
    sparsity: existsSync(join(dir, 'sparsity.jsonl'))
      ? (jsonLines(await read('sparsity.jsonl')) as SparsitySummary[])
      : [],
  };
}

/** Nonzero trainable parameters from result.json alone: kernel nonzeros plus every non-kernel parameter. */
function unmeasuredNnz(result: Record<string, unknown>): number {
  const parameters = Number(result['parameters'] ?? 0);
  const layers = result['layers'] as { size: number; nnz: number }[] | undefined;
  if (!Array.isArray(layers)) return parameters;
  return layers.reduce((a, l) => a + l.nnz - l.size, parameters);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** result.json's per-layer records, cut to what the report reads (their sparsity follows from these). */
const layerNonzeros = (layers: readonly LayerNonzeros[]): LayerNonzeros[] =>
  layers.map(({ name, size, nnz }) => ({ name, size, nnz }));

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One row of the report from its seeds' run folders (the first seed carries the measurements). */
function rowSummary(id: string, runs: readonly RunFiles[]): ModelSummary {
  const first = runs[0]!;
  const measured = (first.result['measured'] ?? {}) as Partial<RunMeasurements>;
  const seeds: SeedResult[] = runs.map((r) => ({
    seed: r.seed,
    testAcc: r.result['testAcc'] as number,
    testLoss: r.result['testLoss'] as number,
    ...(typeof r.result['validationAcc'] === 'number' ? { valAcc: r.result['validationAcc'] } : {}),
    runDir: r.dir,
    ...(typeof r.result['trainSeconds'] === 'number'
      ? { trainSeconds: r.result['trainSeconds'] }
      : {}),
    ...(isObject(r.result['batchNormRecalibration'])
      ? {
          batchNormRecalibration: r.result[
            'batchNormRecalibration'
          ] as unknown as RecalibrationRecord,
        }
      : {}),
    epochs: r.metrics,
    ...(Array.isArray(r.result['layers'])
      ? { finalLayers: layerNonzeros(r.result['layers'] as LayerNonzeros[]) }
      : {}),
    ...(r.sparsity.some((record) => record.layers.length > 0)
      ? { densityHistory: densityHistory(r.sparsity) }
      : {}),
  }));
  const c = first.config;
  const recipeKeys = [
    'epochs',
    'finetuneEpochs',
    'learningRate',
    'learningRateSchedule',
    'augment',
    'sparsity',
    'distribution',
    'width',
    'batchNormMomentum',
    'dsrReallocation',
    'trainLimit',
    'validation',
  ];
  const recipe = Object.fromEntries(
    recipeKeys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]]),
  );
  const validation = first.result['validation'];
  return {
    id,
    label: typeof c['label'] === 'string' ? c['label'] : id,
    model: String(c['model']),
    method: String(c['method'] ?? 'dense'),
    testAcc: mean(seeds.map((s) => s.testAcc)),
    testLoss: mean(seeds.map((s) => s.testLoss)),
    nnz: measured.nnz ?? unmeasuredNnz(first.result),
    totalParams: measured.totalParams ?? (first.result['parameters'] as number),
    denseBytes: measured.denseBytes ?? (first.result['denseBytes'] as number),
    storedBytes: measured.storedBytes ?? 0,
    trainSeconds: first.result['trainSeconds'] as number,
    maskUpdateSeconds: first.result['maskUpdateSeconds'] as number,
    macsPerImage: measured.macsPerImage ?? 0,
    denseMacsPerImage: measured.denseMacsPerImage ?? 0,
    inferMsPerImage: measured.inferMsPerImage ?? 0,
    inferEngine: measured.inferEngine ?? 'not measured',
    ...(measured.denseInferMsPerImage !== undefined
      ? {
          denseInferMsPerImage: measured.denseInferMsPerImage,
          denseInferEngine: measured.denseInferEngine ?? '',
        }
      : {}),
    epochs: first.metrics,
    sparsityHistory: first.sparsity,
    runDir: first.dir,
    ...(seeds[0]!.batchNormRecalibration
      ? { batchNormRecalibration: seeds[0]!.batchNormRecalibration }
      : {}),
    recipe,
    seeds,
    ...(seeds[0]!.finalLayers ? { finalLayers: seeds[0]!.finalLayers } : {}),
    ...(validation === 'test' || typeof validation === 'number' ? { validation } : {}),
  };
}

/** The distinct values of a config.json string field over the runs, in order of first appearance. */
const distinct = (runs: readonly RunFiles[], key: string): string[] => [
  ...new Set(runs.map((r) => r.config[key]).filter((v): v is string => typeof v === 'string')),
];

/** Without paper-run.json: when the last run finished (or now, when no run says). */
function unrecordedDate(runs: readonly RunFiles[]): string {
  const finished = runs
    .map((r) => r.result['finishedAt'])
    .filter((v): v is string => typeof v === 'string')
    .sort();
  return finished.at(-1) ?? new Date().toISOString();
}

/** Without paper-run.json: the commands that trained the runs, one a line, as their config.json says. */
function runCommands(runs: readonly RunFiles[], dir: string): string {
  const commands = distinct(runs, 'command');
  return commands.length > 0 ? commands.join('\n') : `dynaprune report ${dir}`;
}

/** Without paper-run.json: the tfjs backends the runs trained on. */
function runBackend(runs: readonly RunFiles[]): string {
  const backends = distinct(runs, 'backend');
  return backends.length > 0 ? backends.join(', ') : 'unknown';
}

/**
 * Without paper-run.json: the machine the runs' config.json records, or zero cores (the report then says
 * the machine was not recorded). Runs from several machines are named as such, not merged silently.
 */
function runMachine(runs: readonly RunFiles[]): PaperSummary['machine'] {
  const machines = runs
    .map((r) => r.config['machine'])
    .filter((m): m is PaperSummary['machine'] => typeof m === 'object' && m !== null);
  const first = machines[0];
  if (!first) return { cpus: 0, cpuModel: 'not recorded', memoryGiB: 0, os: '', node: '', gpu: '' };
  const kinds = new Set(machines.map((m) => `${m.cpus} ${m.cpuModel} ${m.node}`));
  return kinds.size === 1
    ? first
    : {
        ...first,
        cpuModel: `${first.cpuModel}; the runs were trained on ${kinds.size} different machines`,
      };
}

/**
 * The software the runs were first started with (config.json's `software`), as a phrase: dynaprune's
 * versions, then each commit with its number of runs; undefined when no run recorded it.
 */
function runSoftware(runs: readonly RunFiles[]): string | undefined {
  const recorded = runs
    .map((r) => r.config['software'])
    .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null);
  if (recorded.length === 0) return undefined;
  const versions = [...new Set(recorded.map((s) => String(s['dynaprune'])))];
  const commits = new Map<string, number>();
  for (const s of recorded) {
    const commit =
      typeof s['commit'] === 'string'
        ? `commit ${s['commit'].slice(0, 7)}${s['modified'] === true ? ' with uncommitted changes' : ''}`
        : 'no git checkout';
    commits.set(commit, (commits.get(commit) ?? 0) + 1);
  }
  const count = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  const parts = [...commits].map(([commit, n]) => `${commit} (${count(n)})`);
  const unrecorded = runs.length - recorded.length;
  if (unrecorded > 0) parts.push(`not recorded (${count(unrecorded)}, trained before it was)`);
  return `dynaprune ${versions.join(', ')}; ${parts.join(', ')}`;
}

/** How {@link summaryFromRuns} reads a folder. */
export interface SummaryFromRunsOptions {
  /**
   * Row ids in report order (rows not named follow, by name). Default: the rows of the last `paper`
   * command (`paper-run.json`), which name only what that command trained when it ran with `--only`.
   */
  readonly rowOrder?: readonly string[];
}

/**
 * The summary of the comparison in `dir`: every finished run under `dir/runs/<row>/seed-<n>/` (runs that
 * did not finish are left out), grouped by row, with `dir/paper-run.json`'s facts when present.
 */
export async function summaryFromRuns(
  dir: string,
  options: SummaryFromRunsOptions = {},
): Promise<PaperSummary> {
  const root = join(dir, 'runs');
  if (!existsSync(root)) {
    throw new DataNotFoundError(
      `No ${root}: expected the run folders of 'dynaprune paper --out ${dir}'.`,
    );
  }
  const metaPath = join(dir, 'paper-run.json');
  const meta = existsSync(metaPath)
    ? (JSON.parse(await readFile(metaPath, 'utf8')) as ComparisonMeta)
    : undefined;
  const found = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory());
  const order = options.rowOrder ?? meta?.rows ?? [];
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  const rows = found.map((e) => e.name).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const models: ModelSummary[] = [];
  const allRuns: RunFiles[] = [];
  for (const row of rows) {
    const seedDirs = (await readdir(join(root, row)))
      .map((name) => ({ name, seed: Number(/^seed-(\d+)$/.exec(name)?.[1]) }))
      .filter((s) => Number.isInteger(s.seed))
      .sort((a, b) => a.seed - b.seed);
    const runs: RunFiles[] = [];
    for (const s of seedDirs) {
      const run = await readRun(join(root, row, s.name), s.seed);
      if (run) runs.push(run);
    }
    if (runs.length > 0) models.push(rowSummary(row, runs));
    allRuns.push(...runs);
  }
  if (models.length === 0)
    throw new DataNotFoundError(`No finished run under ${root} (none has a result.json).`);
  // Shorter than the paper's 10 epochs, or on a subset: a preview whatever the command called it.
  const preview = models.some(
    (m) =>
      Number(m.recipe['epochs'] ?? 0) + Number(m.recipe['finetuneEpochs'] ?? 0) < 10 ||
      m.recipe['trainLimit'] !== undefined,
  );
  const software = runSoftware(allRuns);
  return {
    createdAt: meta?.createdAt ?? unrecordedDate(allRuns),
    command: meta?.command ?? runCommands(allRuns, dir),
    machine: meta?.machine ?? runMachine(allRuns),
    backend: meta?.backend ?? runBackend(allRuns),
    ...(software !== undefined ? { software } : {}),
    quick: (meta?.quick ?? false) || preview,
    dataset: 'cifar10',
    budget: meta?.budget ?? 122_570,
    models,
    paper: PAPER_NUMBERS,
    wallSeconds: meta?.wallSeconds ?? 0,
  };
}
