// The shape of summary.json (what `dynaprune paper` measured), and a validator for files read back.
import { InvalidArgumentError } from '../errors.js';

/** One epoch of a model's training, as in metrics.jsonl. Accuracies are fractions in [0, 1]. */
export interface EpochSummary {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAcc: number;
  readonly valLoss: number;
  readonly valAcc: number;
  readonly seconds: number;
}

/** One mask update of a sparse model, as in sparsity.jsonl. */
export interface SparsitySummary {
  readonly step: number;
  readonly epoch: number;
  readonly globalSparsity: number;
  readonly layers: readonly {
    readonly name: string;
    readonly size: number;
    readonly nnz: number;
    readonly sparsity: number;
  }[];
  /** Algorithm facts (DSR's `H`, `prunedCount`; `initial` on the first record). */
  readonly [extra: string]: unknown;
}

export interface ModelSummary {
  /** `baseline`, `dsr` or `oneshot`. */
  readonly id: string;
  readonly label: string;
  /** The architecture's registry name. */
  readonly model: string;
  readonly method: string;
  readonly testAcc: number;
  readonly testLoss: number;
  /** Nonzero trainable parameters: kernels at their nnz, biases, BatchNorm gamma and beta. */
  readonly nnz: number;
  /** All trainable parameters, zeros included. */
  readonly totalParams: number;
  /** The plain dense tfjs model (model.json + weights.bin), bytes. */
  readonly denseBytes: number;
  /** The CSR container (fp32, lossless), bytes. */
  readonly storedBytes: number;
  readonly trainSeconds: number;
  readonly maskUpdateSeconds: number;
  /** Multiply-adds per image with zeros skipped, and with every weight. */
  readonly macsPerImage: number;
  readonly denseMacsPerImage: number;
  /** Median time of one batch-1 prediction with dynaprune's runtime, and which engine ran it. */
  readonly inferMsPerImage: number;
  readonly inferEngine: string;
  /** The same for the dense weights on tfjs, the yardstick (absent from older summaries). */
  readonly denseInferMsPerImage?: number;
  readonly denseInferEngine?: string;
  readonly epochs: readonly EpochSummary[];
  readonly sparsityHistory: readonly SparsitySummary[];
  /** The model's run folder. */
  readonly runDir: string;
  /** When BatchNorm statistics were re-estimated after training (first seed; every seed's in `seeds`). */
  readonly batchNormRecalibration?: RecalibrationRecord;
  /** How it was trained (epochs, learning rate and schedule, augmentation, sparsity...). */
  readonly recipe: Readonly<Record<string, unknown>>;
  /**
   * Every seed's final figures, curves and per-layer nonzeros (testAcc and testLoss above are their means;
   * `epochs`, `finalLayers`, sizes and timings are the first seed's). Absent from single-run summaries of
   * older versions.
   */
  readonly seeds?: readonly SeedResult[];
  /** Per-layer nonzeros at the end of training (the first seed; every seed's in `seeds`). */
  readonly finalLayers?: readonly LayerNonzeros[];
  /** Validation images held out of the training set, or 'test' when validation used the test set. */
  readonly validation?: number | 'test';
}

/** A sparse layer's kernel size and nonzeros at the end of training, as result.json's `layers`. */
export interface LayerNonzeros {
  readonly name: string;
  readonly size: number;
  readonly nnz: number;
}

/** One seed of a row: its test figures (evaluated once, at the end) and its last validation accuracy. */
export interface SeedResult {
  readonly seed: number;
  readonly testAcc: number;
  readonly testLoss: number;
  readonly valAcc?: number;
  readonly runDir: string;
  /** The seed's training time in seconds (absent from summaries of older versions). */
  readonly trainSeconds?: number;
  /** The seed's BatchNorm recalibration, when there was one. */
  readonly batchNormRecalibration?: RecalibrationRecord;
  /** The seed's per-epoch figures (absent from summaries of older versions). */
  readonly epochs?: readonly EpochSummary[];
  /** The seed's per-layer nonzeros at the end of training, for sparse rows. */
  readonly finalLayers?: readonly LayerNonzeros[];
  /**
   * The seed's per-layer density after each mask update: its sparsity.jsonl cut to what the density
   * chart reads (absent from summaries of older versions, which kept the first seed's records only).
   */
  readonly densityHistory?: readonly DensityPoint[];
}

/** Each sparse layer's density (nnz / size) after one mask update, the layers in their records' order. */
export interface DensityPoint {
  readonly step: number;
  readonly density: readonly number[];
}

/** A run's sparsity records as density points. */
export const densityHistory = (records: readonly SparsitySummary[]): DensityPoint[] =>
  records.map((r) => ({ step: r.step, density: r.layers.map((l) => l.nnz / l.size) }));

/**
 * A BatchNorm recalibration as result.json records it (testAcc and testLoss are after it): today the
 * validation figures before and after; runs of dynaprune before 2026-12-02 judged it on the test set, read
 * it twice, and kept only the test figures before it ({@link LegacyRecalibration}).
 */
export type RecalibrationRecord = ValidatedRecalibration | LegacyRecalibration;

/** A recalibration judged on the validation split (`judgedOn` says whether that split is the test set). */
export interface ValidatedRecalibration {
  readonly images: number;
  /**
   * Whether the re-estimated statistics stayed (kept only when they raise held-out validation accuracy);
   * absent in runs before 2026-12-02 08:00 UTC, which always kept them.
   */
  readonly kept?: boolean;
  readonly judgedOn: 'validation' | 'test';
  readonly validationAccBefore: number;
  readonly validationLossBefore: number;
  readonly validationAccAfter: number;
  readonly validationLossAfter: number;
}

/** An older run's record: the test set evaluated before and after the recalibration. */
export interface LegacyRecalibration {
  readonly images: number;
  readonly testAccBefore: number;
  readonly testLossBefore: number;
}

/** Whether `record` comes from an older run that judged the recalibration on the test set. */
export const isLegacyRecalibration = (record: RecalibrationRecord): record is LegacyRecalibration =>
  'testAccBefore' in record;

/** What the paper reports, for the side-by-side tables and plots. */
export interface PaperNumbers {
  readonly baseline: {
    readonly testAcc: number;
    readonly testLoss: number | null;
    readonly epochs: readonly { epoch: number; valAcc: number }[];
  };
  readonly dsr: {
    readonly testAcc: number;
    readonly testLoss: number | null;
    readonly epochs: readonly { epoch: number; valAcc: number }[];
  };
}

export interface PaperSummary {
  readonly createdAt: string;
  readonly command: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly os: string;
    readonly node: string;
    readonly gpu: string;
  };
  readonly backend: string;
  /** The dynaprune version and commits the runs were trained with, as a phrase (absent when none recorded it). */
  readonly software?: string;
  readonly quick: boolean;
  readonly dataset: string;
  /** The nonzero budget the sparse models must fit (the paper CNN's parameter count). */
  readonly budget: number;
  readonly models: readonly ModelSummary[];
  readonly paper: PaperNumbers;
  readonly wallSeconds: number;
}

/** The paper's own numbers (accuracies as fractions). */
export const PAPER_NUMBERS: PaperNumbers = {
  baseline: { testAcc: 0.7042, testLoss: 1.0866, epochs: [] },
  dsr: {
    testAcc: 0.7701,
    testLoss: null,
    epochs: [
      { epoch: 1, valAcc: 0.501 },
      { epoch: 4, valAcc: 0.7315 },
      { epoch: 5, valAcc: 0.7518 },
      { epoch: 6, valAcc: 0.7518 },
      { epoch: 10, valAcc: 0.7701 },
    ],
  },
};

type Json = unknown;

function fail(path: string, expected: string, found: Json): never {
  throw new InvalidArgumentError(
    `summary${path}: expected ${expected}, found ${JSON.stringify(found)?.slice(0, 60)}.`,
  );
}

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function number(v: Json, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number', v);
  return v;
}

function fraction(v: Json, path: string): number {
  const n = number(v, path);
  if (n < 0 || n > 1) fail(path, 'a fraction in [0, 1]', v);
  return n;
}

function string(v: Json, path: string): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

function array(v: Json, path: string): Json[] {
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

function object(v: Json, path: string): Record<string, Json> {
  if (!isObject(v)) fail(path, 'an object', v);
  return v;
}

/** Checks a recalibration record of either form ({@link RecalibrationRecord}). */
function recalibration(v: Json, path: string): void {
  const r = object(v, path);
  number(r['images'], `${path}.images`);
  if (r['testAccBefore'] !== undefined) {
    fraction(r['testAccBefore'], `${path}.testAccBefore`);
    number(r['testLossBefore'], `${path}.testLossBefore`);
    return;
  }
  if (r['judgedOn'] !== 'validation' && r['judgedOn'] !== 'test')
    fail(`${path}.judgedOn`, '"validation" or "test"', r['judgedOn']);
  if (r['kept'] !== undefined && typeof r['kept'] !== 'boolean')
    fail(`${path}.kept`, 'true or false', r['kept']);
  for (const key of ['validationAccBefore', 'validationAccAfter'])
    fraction(r[key], `${path}.${key}`);
  for (const key of ['validationLossBefore', 'validationLossAfter'])
    number(r[key], `${path}.${key}`);
}

/** Checks a list of per-epoch figures (a row's, or one seed's). */
function epochsField(v: Json, path: string): void {
  array(v, path).forEach((e, k) => {
    const q = `${path}[${k}]`;
    const epoch = object(e, q);
    number(epoch['epoch'], `${q}.epoch`);
    for (const key of ['trainAcc', 'valAcc']) fraction(epoch[key], `${q}.${key}`);
    for (const key of ['trainLoss', 'valLoss', 'seconds']) number(epoch[key], `${q}.${key}`);
  });
}

/** Checks one seed of a row ({@link SeedResult}). */
function seedField(v: Json, q: string): void {
  const seed = object(v, q);
  number(seed['seed'], `${q}.seed`);
  fraction(seed['testAcc'], `${q}.testAcc`);
  if (seed['trainSeconds'] !== undefined) number(seed['trainSeconds'], `${q}.trainSeconds`);
  if (seed['batchNormRecalibration'] !== undefined)
    recalibration(seed['batchNormRecalibration'], `${q}.batchNormRecalibration`);
  if (seed['epochs'] !== undefined) epochsField(seed['epochs'], `${q}.epochs`);
  if (seed['finalLayers'] !== undefined)
    array(seed['finalLayers'], `${q}.finalLayers`).forEach((l, j) => {
      const layer = object(l, `${q}.finalLayers[${j}]`);
      string(layer['name'], `${q}.finalLayers[${j}].name`);
      for (const key of ['size', 'nnz']) number(layer[key], `${q}.finalLayers[${j}].${key}`);
    });
  if (seed['densityHistory'] !== undefined)
    array(seed['densityHistory'], `${q}.densityHistory`).forEach((d, j) => {
      const r = `${q}.densityHistory[${j}]`;
      const point = object(d, r);
      number(point['step'], `${r}.step`);
      array(point['density'], `${r}.density`).forEach((x, l) => fraction(x, `${r}.density[${l}]`));
    });
}

/**
 * Checks that `json` (for example a parsed summary.json) has every field the report reads, with the
 * right types; throws InvalidArgumentError naming the first bad field (for example `summary.models[1].nnz`).
 */
export function parseSummary(json: Json): PaperSummary {
  const root = object(json, '');
  string(root['createdAt'], '.createdAt');
  string(root['command'], '.command');
  string(root['backend'], '.backend');
  if (root['software'] !== undefined) string(root['software'], '.software');
  string(root['dataset'], '.dataset');
  if (typeof root['quick'] !== 'boolean') fail('.quick', 'a boolean', root['quick']);
  number(root['budget'], '.budget');
  number(root['wallSeconds'], '.wallSeconds');
  const machine = object(root['machine'], '.machine');
  number(machine['cpus'], '.machine.cpus');
  string(machine['cpuModel'], '.machine.cpuModel');
  const models = array(root['models'], '.models');
  if (models.length === 0) fail('.models', 'at least one model', models);
  models.forEach((m, i) => {
    const p = `.models[${i}]`;
    const model = object(m, p);
    for (const key of ['id', 'label', 'model', 'method', 'inferEngine', 'runDir'])
      string(model[key], `${p}.${key}`);
    for (const key of ['testAcc']) fraction(model[key], `${p}.${key}`);
    for (const key of [
      'testLoss',
      'nnz',
      'totalParams',
      'denseBytes',
      'storedBytes',
      'trainSeconds',
      'maskUpdateSeconds',
      'macsPerImage',
      'denseMacsPerImage',
      'inferMsPerImage',
    ]) {
      number(model[key], `${p}.${key}`);
    }
    if (model['denseInferMsPerImage'] !== undefined)
      number(model['denseInferMsPerImage'], `${p}.denseInferMsPerImage`);
    if (model['denseInferEngine'] !== undefined)
      string(model['denseInferEngine'], `${p}.denseInferEngine`);
    epochsField(model['epochs'], `${p}.epochs`);
    array(model['sparsityHistory'], `${p}.sparsityHistory`).forEach((r, k) => {
      const q = `${p}.sparsityHistory[${k}]`;
      const record = object(r, q);
      number(record['step'], `${q}.step`);
      fraction(record['globalSparsity'], `${q}.globalSparsity`);
      array(record['layers'], `${q}.layers`).forEach((l, j) => {
        const layer = object(l, `${q}.layers[${j}]`);
        string(layer['name'], `${q}.layers[${j}].name`);
        number(layer['nnz'], `${q}.layers[${j}].nnz`);
        fraction(layer['sparsity'], `${q}.layers[${j}].sparsity`);
      });
    });
    object(model['recipe'], `${p}.recipe`);
    if (model['batchNormRecalibration'] !== undefined)
      recalibration(model['batchNormRecalibration'], `${p}.batchNormRecalibration`);
    if (model['seeds'] !== undefined)
      array(model['seeds'], `${p}.seeds`).forEach((e, k) => seedField(e, `${p}.seeds[${k}]`));
  });
  const paper = object(root['paper'], '.paper');
  for (const key of ['baseline', 'dsr'])
    fraction(object(paper[key], `.paper.${key}`)['testAcc'], `.paper.${key}.testAcc`);
  return json as PaperSummary;
}
