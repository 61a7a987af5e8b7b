// Seed statistics of the comparison: mean ± std per row, paired differences over seeds, and what they say.
import {
  densityHistory,
  type DensityPoint,
  type EpochSummary,
  type ModelSummary,
  type PaperSummary,
} from './summary.js';

/** Two-sided 95% critical values of Student's t for 1..10 degrees of freedom; 1.96 beyond 30. */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

function t95(df: number): number {
  if (df <= 10) return T95[df - 1]!;
  if (df <= 30) return 2.228 - ((df - 10) * (2.228 - 2.042)) / 20;
  return 1.96;
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance =
    xs.length > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** A row's test accuracies, one per seed (the mean alone for summaries without seeds). */
export const seedAccuracies = (m: ModelSummary): number[] =>
  m.seeds && m.seeds.length > 0 ? m.seeds.map((s) => s.testAcc) : [m.testAcc];

/**
 * Each layer's final density (nnz / size) over a row's seeds, by the layer's position in the first seed's
 * list (the names carry each process's layer counter). A seed whose layers differ in number or size is left
 * out rather than matched wrongly. Summaries without per-seed layers give the row's one list.
 */
export function layerDensities(m: ModelSummary): { seeds: number; byLayer: number[][] } {
  const lists = (m.seeds ?? []).flatMap((s) => (s.finalLayers ? [s.finalLayers] : []));
  if (lists.length === 0 && m.finalLayers) lists.push(m.finalLayers);
  const first = lists[0] ?? [];
  const same = lists.filter(
    (l) => l.length === first.length && l.every((layer, i) => layer.size === first[i]!.size),
  );
  return {
    seeds: same.length,
    byLayer: first.map((_, i) => same.map((l) => l[i]!.nnz / l[i]!.size)),
  };
}

/** A per-epoch figure over a row's seeds: its mean and its range. */
export interface SeedBand {
  readonly epoch: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly seeds: number;
}

/**
 * `value` of every epoch over the row's seeds (the first seed's curve alone for summaries without per-seed
 * epochs). An epoch counts the seeds that reached it.
 */
export function seedBands(m: ModelSummary, value: (e: EpochSummary) => number): SeedBand[] {
  const curves = (m.seeds ?? []).flatMap((s) => (s.epochs ? [s.epochs] : []));
  if (curves.length === 0) curves.push(m.epochs);
  const epochs = [...new Set(curves.flatMap((c) => c.map((e) => e.epoch)))].sort((a, b) => a - b);
  return epochs.map((epoch) => {
    const values = curves.flatMap((c) => c.filter((e) => e.epoch === epoch).map(value));
    return {
      epoch,
      mean: values.reduce((a, b) => a + b, 0) / values.length,
      min: Math.min(...values),
      max: Math.max(...values),
      seeds: values.length,
    };
  });
}

/** One layer's density at one step over a row's seeds: their mean and range, as fractions. */
export interface DensityBand {
  readonly step: number;
  readonly layer: string;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly seeds: number;
}

/**
 * Each sparse layer's density after each mask update over a row's seeds (the first seed's records alone
 * for summaries without per-seed histories). Layers go by position and take the names of the row's own
 * records (names carry each process's layer counter); a seed with another number of layers is left out.
 * A step counts the seeds that recorded it.
 */
export function densityBands(m: ModelSummary): DensityBand[] {
  const names = m.sparsityHistory.find((r) => r.layers.length > 0)?.layers.map((l) => l.name);
  if (names === undefined) return [];
  const histories: (readonly DensityPoint[])[] = (m.seeds ?? []).flatMap((s) =>
    s.densityHistory ? [s.densityHistory] : [],
  );
  if (histories.length === 0) histories.push(densityHistory(m.sparsityHistory));
  const usable = histories.filter((h) => h.every((p) => p.density.length === names.length));
  const steps = [...new Set(usable.flatMap((h) => h.map((p) => p.step)))].sort((a, b) => a - b);
  return steps.flatMap((step) => {
    // A seed's last record at the step (an update and a final record may share one).
    const points = usable.flatMap((h) => h.filter((p) => p.step === step).slice(-1));
    return names.map((layer, i) => {
      const values = points.map((p) => p.density[i]!);
      return {
        step,
        layer,
        mean: values.reduce((a, b) => a + b, 0) / values.length,
        min: Math.min(...values),
        max: Math.max(...values),
        seeds: values.length,
      };
    });
  });
}

/** `a − b` in test accuracy over the seeds both rows ran, with a 95% interval of the mean difference. */
export interface PairedComparison {
  readonly a: ModelSummary;
  readonly b: ModelSummary;
  readonly seeds: number;
  /** Mean of the per-seed differences, in accuracy (fraction). */
  readonly meanDiff: number;
  readonly sdDiff: number;
  /** Half-width of the 95% t interval of the mean difference (Infinity with one seed). */
  readonly halfWidth: number;
  /** The interval excludes 0: the difference is larger than the seed noise. */
  readonly beyondNoise: boolean;
}

export function pairedComparison(a: ModelSummary, b: ModelSummary): PairedComparison | undefined {
  const bySeed = new Map((b.seeds ?? []).map((s) => [s.seed, s.testAcc]));
  const diffs = (a.seeds ?? [])
    .filter((s) => bySeed.has(s.seed))
    .map((s) => s.testAcc - bySeed.get(s.seed)!);
  if (diffs.length === 0) return undefined;
  const { mean, std } = meanStd(diffs);
  const halfWidth =
    diffs.length > 1 ? (t95(diffs.length - 1) * std) / Math.sqrt(diffs.length) : Infinity;
  return {
    a,
    b,
    seeds: diffs.length,
    meanDiff: mean,
    sdDiff: std,
    halfWidth,
    beyondNoise: Number.isFinite(halfWidth) && Math.abs(mean) > halfWidth,
  };
}

/** DSR against every other sparse row (static, SET, RigL, one-shot, GMP, the ablation) present. */
export function dsrComparisons(summary: PaperSummary): PairedComparison[] {
  const dsr = summary.models.find((m) => m.id === 'dsr');
  if (!dsr) return [];
  const others = ['static', 'static-erk', 'set', 'rigl', 'oneshot', 'gmp', 'dsr-no-realloc'];
  return others
    .map((id) => summary.models.find((m) => m.id === id))
    .filter((m): m is ModelSummary => m !== undefined)
    .map((m) => pairedComparison(dsr, m))
    .filter((c): c is PairedComparison => c !== undefined);
}

const pts = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)} pts`;

/** One sentence saying what the measured comparison shows, written from the numbers. */
export function leadSentence(summary: PaperSummary): string {
  const scope = summary.quick
    ? 'In this preview (short runs or a subset; not comparable with the paper’s 10-epoch figures), '
    : '';
  const dsr = summary.models.find((m) => m.id === 'dsr');
  if (!dsr) {
    const best = [...summary.models].sort((x, y) => y.testAcc - x.testAcc)[0]!;
    return `${scope}the best row is ${best.label} at ${(100 * best.testAcc).toFixed(2)}% test accuracy.`;
  }
  const n = seedAccuracies(dsr).length;
  const head = `${scope}DSR at the paper's budget reached ${(100 * dsr.testAcc).toFixed(2)}% test accuracy (${n === 1 ? 'one seed' : `mean of ${n} seeds`})`;
  const comparisons = dsrComparisons(summary).filter((c) => c.b.id !== 'dsr-no-realloc');
  if (comparisons.length === 0) return `${head}.`;
  const beyond = comparisons.filter((c) => c.beyondNoise);
  const parts = comparisons.map((c) => `${pts(c.meanDiff)} vs ${c.b.id}`).join(', ');
  const verdict =
    n < 2
      ? 'with one seed, no difference can be told from seed noise'
      : beyond.length === 0
        ? 'none of these differences is larger than the seed noise'
        : beyond.length === comparisons.length
          ? 'each of these differences is larger than the seed noise'
          : `larger than the seed noise: ${beyond.map((c) => c.b.id).join(', ')}; the rest are within it`;
  return `${head}: ${parts}; ${verdict}.`;
}
