// Writes the experiment report: summary.json, report.md, report.html and each chart as SVG and PNG.
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { comparisonChart, curvesChart, sparsityChart } from './charts.js';
import { renderPng, renderSvg } from './render.js';
import {
  dsrComparisons,
  PRIMARY_BASELINES,
  layerDensities,
  leadSentence,
  meanStd,
  seedAccuracies,
  seedBands,
} from './stats.js';
import {
  isLegacyRecalibration,
  type ModelSummary,
  type PaperSummary,
  type RecalibrationRecord,
  type SeedResult,
} from './summary.js';

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const signed = (v: number, digits = 2): string => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function paperAccuracy(summary: PaperSummary, m: ModelSummary): number | undefined {
  if (m.id === 'keras-paper' || m.id === 'baseline') return summary.paper.baseline.testAcc;
  if (m.id === 'dsr') return summary.paper.dsr.testAcc;
  return undefined;
}

/** A table as a header and rows of cells, rendered to both Markdown and HTML. */
interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Seeds of an older dynaprune that judged BatchNorm recalibration on the test set (marked † in tables). */
const testJudgedSeeds = (m: ModelSummary): SeedResult[] =>
  (m.seeds ?? []).filter(
    (s) => s.batchNormRecalibration && isLegacyRecalibration(s.batchNormRecalibration),
  );

const LEGACY_MARK = '†';

function accuracyCell(m: ModelSummary): string {
  const accs = seedAccuracies(m);
  const mark = testJudgedSeeds(m).length > 0 ? ` ${LEGACY_MARK}` : '';
  if (accs.length === 1) return pct(accs[0]!) + mark;
  const { mean, std } = meanStd(accs);
  return `${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)}% (${accs.length} seeds)${mark}`;
}

/**
 * The footnote of † when some runs come from an older dynaprune, whose recalibration was judged on the
 * test set (read twice): their test figure is still the final model's, but the protocol differs.
 */
function legacyNote(summary: PaperSummary): string | undefined {
  const runs = summary.models.flatMap((m) =>
    testJudgedSeeds(m).map((s) => `${m.label} seed ${s.seed}`),
  );
  if (runs.length === 0) return undefined;
  return (
    `${LEGACY_MARK} Trained by an older dynaprune whose BatchNorm recalibration was judged on the test set ` +
    `(the test set read before and after it), not on the validation split: ${runs.join(', ')}. Their test ` +
    'accuracy is that of the final, recalibrated model, as for every other run, but the test set was read twice. ' +
    'Retrain them (remove the run folder, then rerun with --reuse) for a single test read.'
  );
}

/** The results table: measured, next to the paper only for full-length runs (quick runs are not comparable). */
function resultsTable(summary: PaperSummary): Table {
  const paperColumns = !summary.quick;
  const header = [
    'model',
    'test accuracy',
    ...(paperColumns ? ['paper', 'difference'] : []),
    'test loss',
    ...(paperColumns ? ['paper loss'] : []),
    'validation accuracy (last epoch, mean over seeds)',
    'nonzero params',
    'stored (CSR)',
    'dense tfjs',
    'M multiply-adds / image',
    'ms / image (runtime)',
    'ms / image (tfjs dense)',
    'training time (first seed)',
  ];
  const rows = summary.models.map((m) => {
    const paper = paperAccuracy(summary, m);
    const last = seedBands(m, (e) => e.valAcc).at(-1);
    return [
      m.label,
      accuracyCell(m),
      ...(paperColumns
        ? [
            paper === undefined ? '—' : pct(paper),
            paper === undefined ? '—' : `${signed(100 * (m.testAcc - paper))} pts`,
          ]
        : []),
      m.testLoss.toFixed(4),
      ...(paperColumns
        ? [
            paperAccuracy(summary, m) === summary.paper.baseline.testAcc &&
            summary.paper.baseline.testLoss !== null
              ? summary.paper.baseline.testLoss.toFixed(4)
              : '—',
          ]
        : []),
      last ? pct(last.mean) : '—',
      m.nnz.toLocaleString('en-US'),
      // Rows whose export was not measured (an interrupted comparison) show dashes, not zeros.
      m.storedBytes > 0 ? kib(m.storedBytes) : '—',
      kib(m.denseBytes),
      m.macsPerImage > 0 ? (m.macsPerImage / 1e6).toFixed(2) : '—',
      m.inferMsPerImage > 0 ? m.inferMsPerImage.toFixed(3) : '—',
      m.denseInferMsPerImage === undefined ? '—' : m.denseInferMsPerImage.toFixed(3),
      `${(m.trainSeconds / 60).toFixed(1)} min`,
    ];
  });
  return { header, rows };
}

/** DSR minus each other row at the budget, paired over seeds: the 95% interval, the t-test and the verdict. */
function pairedTable(summary: PaperSummary): Table {
  const p = (v: number) => (Number.isNaN(v) ? '—' : v < 0.001 ? '< 0.001' : v.toFixed(3));
  return {
    header: [
      'comparison',
      'seeds',
      'mean difference',
      '95% interval',
      'p (paired t)',
      'Holm-adjusted p (primary)',
      'larger than seed noise?',
    ],
    rows: dsrComparisons(summary).map((c) => [
      `DSR − ${c.b.label}`,
      String(c.seeds),
      `${signed(100 * c.meanDiff)} pts`,
      Number.isFinite(c.halfWidth)
        ? `[${signed(100 * (c.meanDiff - c.halfWidth))}, ${signed(100 * (c.meanDiff + c.halfWidth))}]`
        : '— (one seed)',
      p(c.pValue),
      c.primary ? p(c.adjustedP) : '— (secondary)',
      c.seeds < 2 ? 'cannot tell (one seed)' : c.significant ? 'yes' : 'no',
    ]),
  };
}

const PAIRED_NOTE =
  `Each seed pairs two runs with that seed: for the 3x-wide rows the same initial weights, data order and ` +
  `initial mask, for the small dense CNN the same data order. The interval is the ` +
  `95% t-interval of the mean difference; the verdict is a two-sided paired t-test at 5%. The primary ` +
  `comparisons (DSR against ${PRIMARY_BASELINES.join(', ')}: the ones the experiment was set up to make) ` +
  `are judged together with Holm's correction, so all their verdicts hold at 5% family-wise; the others are ` +
  `secondary and judged alone.`;

/** Every seed's test accuracy per row. */
function seedsTable(summary: PaperSummary): Table {
  return {
    header: ['model', 'seeds', 'test accuracy per seed', 'mean ± std'],
    rows: summary.models.map((m) => {
      const accs = seedAccuracies(m);
      const { mean, std } = meanStd(accs);
      return [
        m.label,
        (m.seeds ?? []).map((s) => s.seed).join(', ') || '—',
        (m.seeds ?? [])
          .map(
            (s) =>
              pct(s.testAcc) +
              (s.batchNormRecalibration && isLegacyRecalibration(s.batchNormRecalibration)
                ? ` ${LEGACY_MARK}`
                : ''),
          )
          .join(', ') || accs.map(pct).join(', '),
        `${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)}%`,
      ];
    }),
  };
}

/**
 * Final per-layer density (nnz / size) of every sparse row: the mean ± standard deviation over its seeds,
 * or the one value when a single seed (or an older summary, which kept the first seed's only) has them.
 */
function layersTable(summary: PaperSummary): Table | undefined {
  const sparse = summary.models.filter((m) => m.finalLayers && m.finalLayers.length > 0);
  if (sparse.length === 0) return undefined;
  const names = sparse[0]!.finalLayers!.map((l) => l.name);
  return {
    header: ['model', 'seeds', ...names],
    rows: sparse.map((m) => {
      const densities = layerDensities(m);
      return [
        m.label,
        String(Math.max(1, densities.seeds)),
        ...names.map((_, i) => {
          const values = densities.byLayer[i] ?? [];
          if (values.length === 0) return '—';
          const { mean, std } = meanStd(values);
          return values.length === 1
            ? `${(100 * mean).toFixed(1)}%`
            : `${(100 * mean).toFixed(1)} ± ${(100 * std).toFixed(1)}%`;
        }),
      ];
    }),
  };
}

const LAYERS_TITLE = 'Final density of each layer (mean ± standard deviation over the seeds)';

const markdownTable = (t: Table): string[] => [
  '| ' + t.header.join(' | ') + ' |',
  '|' + t.header.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|',
  ...t.rows.map((r) => '| ' + r.join(' | ') + ' |'),
];

const htmlTable = (t: Table): string =>
  `<div class="scroll"><table><thead><tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>\n` +
  t.rows
    .map(
      (r) =>
        '<tr>' +
        r
          .map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`))
          .join('') +
        '</tr>',
    )
    .join('\n') +
  '\n</tbody></table></div>';

/** Training time summed over the runs, and this command's own wall time (less when runs were reused). */
function timeLine(summary: PaperSummary): string {
  const seeds = summary.models.flatMap((m) => m.seeds ?? []);
  // Summaries of older versions kept the first seed's time only.
  const perRun = seeds.length > 0 && seeds.every((s) => s.trainSeconds !== undefined);
  const training = perRun
    ? seeds.reduce((a, s) => a + s.trainSeconds!, 0) / 60
    : summary.models.reduce((a, m) => a + m.trainSeconds * Math.max(1, m.seeds?.length ?? 1), 0) /
      60;
  const took = perRun
    ? `Training took ${training.toFixed(0)} minutes in all (summed over the ${seeds.length} runs)`
    : `Training took about ${training.toFixed(0)} minutes in all (first seed's time × seeds)`;
  // Rebuilt from run folders without paper-run.json, the command's wall time is unknown (0).
  return summary.wallSeconds > 0
    ? `${took}; this command ran for ${(summary.wallSeconds / 60).toFixed(0)} minutes.`
    : `${took}.`;
}

function protocolLine(summary: PaperSummary): string {
  const v = summary.models.find((m) => m.validation !== undefined)?.validation;
  if (v === undefined || v === 'test')
    return 'Per-epoch curves use the test set as validation data, as the paper does.';
  return (
    `Per-epoch curves and every choice use ${v.toLocaleString('en-US')} held-out training images (the last ones, fixed) ` +
    'as validation data; the test set is evaluated once, at the end, and only the test accuracy is reported as the result.'
  );
}

/** A recalibration in words: the split it was judged on, and the accuracy before and after. */
function recalibrationPhrase(r: RecalibrationRecord, testAfter: number): string {
  if (isLegacyRecalibration(r))
    return `judged on the test set by an older dynaprune: test accuracy ${pct(r.testAccBefore)} before, ${pct(testAfter)} after ${LEGACY_MARK}`;
  const split =
    r.judgedOn === 'test' ? 'validation (the test set: no held-out split)' : 'held-out validation';
  const verdict = r.kept === false ? ' (not better: not kept)' : '';
  return `${split} accuracy ${pct(r.validationAccBefore)} before, ${pct(r.validationAccAfter)} after${verdict}`;
}

function recipeLine(m: ModelSummary): string {
  const recipe = Object.entries(m.recipe)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(6)) : String(v)}`)
    .join(', ');
  const recalibrated = (m.seeds ?? []).filter((s) => s.batchNormRecalibration);
  const r = recalibrated[0]?.batchNormRecalibration ?? m.batchNormRecalibration;
  if (!r) return recipe;
  const perSeed =
    recalibrated.length > 0
      ? recalibrated
          .map(
            (s) => `seed ${s.seed}: ${recalibrationPhrase(s.batchNormRecalibration!, s.testAcc)}`,
          )
          .join('; ')
      : recalibrationPhrase(r, m.testAcc);
  return (
    `${recipe}; after training, BatchNorm statistics re-estimated on ${r.images.toLocaleString('en-US')} ` +
    `clean training images (${perSeed})`
  );
}

/** Where and when: the machine as recorded, or plainly that it was not. */
function measuredLine(summary: PaperSummary): string {
  const m = summary.machine;
  const where =
    m.cpus > 0
      ? `on ${m.cpus} CPU cores (${m.cpuModel}, ${m.gpu === '' || m.gpu === 'none' ? 'no GPU' : m.gpu})` +
        (m.node !== '' ? `, Node ${m.node}` : '')
      : 'on a machine that was not recorded';
  const software = summary.software ? ` Software: ${summary.software}.` : '';
  return `Measured ${summary.createdAt.slice(0, 10)} ${where}, tfjs backend \`${summary.backend}\`.${software} ${timeLine(summary)}`;
}

/** How inference was timed, or plainly that it was not (no run of the folder was exported and timed). */
function inferenceLine(summary: PaperSummary): string {
  const timed = summary.models.find((m) => m.inferMsPerImage > 0);
  if (!timed)
    return 'Inference time was not measured: no run of this folder was exported and timed.';
  return (
    `Inference time: median of batch-1 predictions on one thread, with ${timed.inferEngine}` +
    (timed.denseInferEngine
      ? `, and for comparison the same weights dense on ${timed.denseInferEngine}`
      : '') +
    '. Multiply-adds skip zero weights. Each row was timed once, right after its first seed finished, beside ' +
    "whatever was still training, so the times of different rows are not comparable (the repository's bench/ " +
    'makes the controlled comparison).'
  );
}

const QUICK_NOTE =
  'This is a preview (`--quick`, or fewer than 10 epochs, or a subset of the training images). Its figures ' +
  "are not comparable with the paper's 10-epoch ones, so no difference against them is shown.";

function title(summary: PaperSummary): string {
  return `Dynamic pruning of a CIFAR-10 CNN at the paper's budget, measured${summary.quick ? ' (preview)' : ''}`;
}

function markdown(summary: PaperSummary, charts: readonly string[]): string {
  const lines: string[] = [`# ${title(summary)}`, '', `**${leadSentence(summary)}**`, ''];
  lines.push(measuredLine(summary), '', '```sh', summary.command, '```', '');
  if (summary.quick) lines.push(`> ${QUICK_NOTE}`, '');
  lines.push(
    `The sparse models must fit the paper CNN's budget of ${summary.budget.toLocaleString('en-US')} nonzero trainable parameters (biases and BatchNorm included). ${protocolLine(summary)}`,
    '',
    ...markdownTable(resultsTable(summary)),
    '',
  );
  const legacy = legacyNote(summary);
  if (legacy) lines.push(legacy, '');
  const paired = pairedTable(summary);
  if (paired.rows.length > 0)
    lines.push(
      '## DSR against the other rows at the budget, paired over seeds',
      '',
      ...markdownTable(paired),
      '',
      PAIRED_NOTE,
      '',
    );
  lines.push('## Every seed', '', ...markdownTable(seedsTable(summary)), '');
  const layers = layersTable(summary);
  if (layers) lines.push(`## ${LAYERS_TITLE}`, '', ...markdownTable(layers), '');
  lines.push('## How each model was trained', '');
  for (const m of summary.models)
    lines.push(
      `- **${m.label}** (\`${m.model}\`, method \`${m.method}\`): ${recipeLine(m)}. Run folder: \`${m.runDir}\`.`,
    );
  lines.push('', inferenceLine(summary), '');
  for (const chart of charts) lines.push(`![${chart}](${chart}.png)`, '');
  lines.push(
    'Per-epoch figures are in each run folder (`metrics.jsonl`); every mask update in `sparsity.jsonl`; the final figures in `result.json`. `dynaprune report DIR` rebuilds this report from those files.',
  );
  return lines.join('\n') + '\n';
}

function html(summary: PaperSummary, svgs: readonly { name: string; svg: string }[]): string {
  const paired = pairedTable(summary);
  const layers = layersTable(summary);
  const recipes = summary.models
    .map(
      (m) =>
        `<li><b>${escapeHtml(m.label)}</b> (<code>${escapeHtml(m.model)}</code>, <code>${escapeHtml(m.method)}</code>): ${escapeHtml(recipeLine(m))}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dynaprune: the paper's comparison</title>
<style>
body { font-family: system-ui, "DejaVu Sans", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; } th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
thead th { background: #f4f4f4; } tbody th { text-align: left; } pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
figure { margin: 1.5em 0; max-width: 100%; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
.note { background: #fff8e1; padding: 0.6em; } .lead { font-size: 1.15em; font-weight: 600; }
</style></head><body>
<h1>${escapeHtml(title(summary))}</h1>
<p class="lead">${escapeHtml(leadSentence(summary))}</p>
<p>${escapeHtml(measuredLine(summary).replace(/`/g, ''))}</p>
<pre>${escapeHtml(summary.command)}</pre>
${summary.quick ? `<p class="note">${escapeHtml(QUICK_NOTE.replace(/`/g, ''))}</p>` : ''}
<p>The sparse models must fit the paper CNN's budget of ${summary.budget.toLocaleString('en-US')} nonzero trainable parameters. ${escapeHtml(protocolLine(summary))}</p>
${htmlTable(resultsTable(summary))}
${legacyNote(summary) ? `<p class="note">${escapeHtml(legacyNote(summary)!)}</p>` : ''}
${paired.rows.length > 0 ? `<h2>DSR against the other rows at the budget, paired over seeds</h2>\n${htmlTable(paired)}\n<p>${escapeHtml(PAIRED_NOTE)}</p>` : ''}
<h2>Every seed</h2>
${htmlTable(seedsTable(summary))}
${layers ? `<h2>${LAYERS_TITLE}</h2>\n${htmlTable(layers)}` : ''}
<h2>How each model was trained</h2>
<ul>${recipes}</ul>
${svgs.map((s) => `<figure>${s.svg}</figure>`).join('\n')}
</body></html>
`;
}

/**
 * Writes `summary.json`, `report.md`, `report.html` (self-contained: the SVGs are inline) and
 * `accuracy`, `loss`, `sparsity` (when some mask moved) and `comparison` as `.svg` and `.png` into
 * `dir`, each atomically.
 * Returns the paths written.
 */
export async function writeReport(dir: string, summary: PaperSummary): Promise<string[]> {
  // No mask ever moved (no sparse row, or runs too short to update): no empty chart with a meaningless axis.
  const masksMoved = summary.models.some((m) => m.sparsityHistory.length > 1);
  const charts = [
    { name: 'accuracy', spec: curvesChart(summary, 'accuracy') },
    { name: 'loss', spec: curvesChart(summary, 'loss') },
    ...(masksMoved ? [{ name: 'sparsity', spec: sparsityChart(summary) }] : []),
    { name: 'comparison', spec: comparisonChart(summary) },
  ];
  const written: string[] = [];
  const write = async (name: string, data: string | Uint8Array) => {
    const path = join(dir, name);
    await writeFileAtomic(path, data);
    written.push(path);
  };
  const svgs: { name: string; svg: string }[] = [];
  for (const chart of charts) {
    const svg = await renderSvg(chart.spec);
    svgs.push({ name: chart.name, svg });
    await write(`${chart.name}.svg`, svg);
    await write(`${chart.name}.png`, renderPng(svg));
  }
  await write('summary.json', JSON.stringify(summary, null, 2) + '\n');
  await write(
    'report.md',
    markdown(
      summary,
      charts.map((c) => c.name),
    ),
  );
  await write('report.html', html(summary, svgs));
  return written;
}
