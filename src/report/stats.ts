// Seed statistics of the comparison: mean ± std per row, paired differences over seeds, and what they say.
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import {
  densityHistory,
  type DensityPoint,
  type EpochSummary,
  type ModelSummary,
  type PaperSummary,
} from './summary.js';

/** The family-wise error rate of the comparison's tests, and the level of each interval: 5%. */
export const ALPHA = 0.05;

/**
 * The comparisons the experiment was set up to make (issue 11): DSR against a fixed random mask, SET, RigL and
 * one-shot pruning. Their verdicts are corrected together (Holm); the other rows (ERK masks, GMP, the
 * reallocation ablation) are secondary and each is tested alone.
 */
export const PRIMARY_BASELINES: readonly string[] = ['static', 'set', 'rigl', 'oneshot'];

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
  /** Two-sided p-value of the paired t-test (NaN with one seed). */
  readonly pValue: number;
  /** The interval excludes 0 (p < 5%, this comparison alone): the difference is larger than the seed noise. */
  readonly beyondNoise: boolean;
}

export function pairedComparison(a: ModelSummary, b: ModelSummary): PairedComparison | undefined {
  const bySeed = new Map((b.seeds ?? []).map((s) => [s.seed, s.testAcc]));
  const diffs = (a.seeds ?? [])
    .filter((s) => bySeed.has(s.seed))
    .map((s) => s.testAcc - bySeed.get(s.seed)!);
  if (diffs.length === 0) return undefined;
  const { mean, std } = meanStd(diffs);
  const n = diffs.length;
  const stdErr = std / Math.sqrt(n);
  const halfWidth = n > 1 ? tQuantile(1 - ALPHA / 2, n - 1) * stdErr : Infinity;
  return {
    a,
    b,
    seeds: n,
    meanDiff: mean,
    sdDiff: std,
    halfWidth,
    pValue: n > 1 ? pairedPValue(mean, stdErr, n - 1) : NaN,
    beyondNoise: Number.isFinite(halfWidth) && Math.abs(mean) > halfWidth,
  };
}

/** Two-sided p-value of a t statistic mean / stdErr; identical differences give 0 (or 1 when all are 0). */
function pairedPValue(mean: number, stdErr: number, df: number): number {
  if (stdErr === 0) return mean === 0 ? 1 : 0;
  return 2 * (1 - tCdf(Math.abs(mean / stdErr), df));
}

/** A comparison of DSR with one row, judged within its family. */
export interface DsrComparison extends PairedComparison {
  /** One of {@link PRIMARY_BASELINES}: judged with the others, Holm-corrected. */
  readonly primary: boolean;
  /** The p-value the verdict uses: Holm-adjusted over the primary family, the plain one otherwise. */
  readonly adjustedP: number;
  /** The verdict: the difference is larger than the seed noise at 5% (family-wise for primary rows). */
  readonly significant: boolean;
}

/**
 * Holm's step-down adjustment of p-values, each the smallest family-wise level at which its hypothesis is
 * rejected: sorted ascending, the i-th (from 0) becomes max over j ≤ i of min(1, (m − j) p_j). NaN stays NaN
 * and does not count towards m.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues
    .map((p, i) => ({ p, i }))
    .filter((e) => !Number.isNaN(e.p))
    .sort((x, y) => x.p - y.p);
  const adjusted = pValues.map(() => NaN);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (order.length - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/**
 * DSR against every other row at the budget present (static, ERK, SET, RigL, GMP, one-shot, the small dense
 * CNN, the ablation), each judged by a paired t-test: the primary ones ({@link PRIMARY_BASELINES}) Holm-corrected together at 5%
 * family-wise, the others each alone.
 */
export function dsrComparisons(summary: PaperSummary): DsrComparison[] {
  const dsr = summary.models.find((m) => m.id === 'dsr');
  if (!dsr) return [];
  const others = [
    'static',
    'static-erk',
    'set',
    'rigl',
    'gmp',
    'oneshot',
    'small-dense',
    'dsr-no-realloc',
  ];
  const comparisons = others
    .map((id) => summary.models.find((m) => m.id === id))
    .filter((m): m is ModelSummary => m !== undefined)
    .map((m) => pairedComparison(dsr, m))
    .filter((c): c is PairedComparison => c !== undefined);
  const primary = comparisons.filter((c) => PRIMARY_BASELINES.includes(c.b.id));
  const holm = holmAdjust(primary.map((c) => c.pValue));
  return comparisons.map((c) => {
    const index = primary.indexOf(c);
    const adjustedP = index >= 0 ? holm[index]! : c.pValue;
    return { ...c, primary: index >= 0, adjustedP, significant: adjustedP < ALPHA };
  });
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
  // The sentence speaks for the primary comparisons when there are any (the ablation never), and then
  // names any other row at the budget that is ahead of DSR, so a better baseline is never left unsaid.
  const every = dsrComparisons(summary);
  const all = every.filter((c) => c.b.id !== 'dsr-no-realloc');
  const primary = all.filter((c) => c.primary);
  const comparisons = primary.length > 0 ? primary : all;
  if (comparisons.length === 0) return `${head}.`;
  const ahead = every
    .filter((c) => c.meanDiff < 0 && !comparisons.includes(c))
    .map(
      (c) =>
        `${c.b.id} by ${pts(-c.meanDiff).slice(1)} (` +
        (c.seeds < 2
          ? 'one seed'
          : c.significant
            ? 'larger than the seed noise, judged alone'
            : 'within the seed noise') +
        ')',
    );
  const aheadNote =
    ahead.length > 0 ? ` Ahead of DSR at the same budget: ${ahead.join(', ')}.` : '';
  const beyond = comparisons.filter((c) => c.significant);
  const parts = comparisons.map((c) => `${pts(c.meanDiff)} vs ${c.b.id}`).join(', ');
  const test =
    primary.length > 1
      ? ` (paired t-test over seeds, Holm-corrected over these ${primary.length} comparisons)`
      : ' (paired t-test over seeds)';
  const verdict =
    n < 2
      ? 'with one seed, no difference can be told from seed noise'
      : beyond.length === 0
        ? `none of these differences is larger than the seed noise${test}`
        : beyond.length === comparisons.length
          ? `each of these differences is larger than the seed noise${test}`
          : `larger than the seed noise${test}: ${beyond.map((c) => c.b.id).join(', ')}; the rest are within it`;
  return `${head}: ${parts}; ${verdict}.${aheadNote}`;
}
