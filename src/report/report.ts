// Writes the experiment report: summary.json, report.md, report.html and each chart as SVG and PNG.
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { comparisonChart, curvesChart, sparsityChart } from './charts.js';
import { renderPng, renderSvg } from './render.js';
import type { ModelSummary, PaperSummary } from './summary.js';

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
  if (m.id === 'baseline') return summary.paper.baseline.testAcc;
  if (m.id === 'dsr') return summary.paper.dsr.testAcc;
  return undefined;
}

/** The results table: measured next to the paper, with the difference. */
function resultsRows(summary: PaperSummary): string[][] {
  return summary.models.map((m) => {
    const paper = paperAccuracy(summary, m);
    const last = m.epochs[m.epochs.length - 1];
    return [
      m.label,
      pct(m.testAcc),
      paper === undefined ? '—' : pct(paper),
      paper === undefined ? '—' : `${signed(100 * (m.testAcc - paper))} pts`,
      m.testLoss.toFixed(4),
      m.id === 'baseline' && summary.paper.baseline.testLoss !== null
        ? summary.paper.baseline.testLoss.toFixed(4)
        : '—',
      m.nnz.toLocaleString('en-US'),
      last ? `${(100 * (last.trainAcc - last.valAcc)).toFixed(1)} pts` : '—',
      kib(m.storedBytes),
      kib(m.denseBytes),
      (m.macsPerImage / 1e6).toFixed(2),
      m.inferMsPerImage.toFixed(3),
      m.denseInferMsPerImage === undefined ? '—' : m.denseInferMsPerImage.toFixed(3),
      `${(m.trainSeconds / 60).toFixed(1)} min`,
    ];
  });
}

const HEADER = [
  'model',
  'test accuracy',
  'paper',
  'difference',
  'test loss',
  'paper loss',
  'nonzero params',
  'gap (train − test)',
  'stored (CSR)',
  'dense tfjs',
  'M multiply-adds / image',
  'ms / image (runtime)',
  'ms / image (tfjs dense)',
  'training time',
];

/** Training time summed over the models, and this command's own wall time (less when runs were reused). */
function timeLine(summary: PaperSummary): string {
  const training = summary.models.reduce((a, m) => a + m.trainSeconds, 0) / 60;
  return (
    `Training took ${training.toFixed(0)} minutes in all; this command ran for ` +
    `${(summary.wallSeconds / 60).toFixed(0)} minutes.`
  );
}

function recipeLine(m: ModelSummary): string {
  const recipe = Object.entries(m.recipe)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(6)) : String(v)}`)
    .join(', ');
  const r = m.batchNormRecalibration;
  return r
    ? `${recipe}; after training, BatchNorm statistics re-estimated on ${r.images.toLocaleString('en-US')} ` +
        `clean training images (test accuracy ${pct(r.testAccBefore)} before, ${pct(m.testAcc)} after; ` +
        `the per-epoch curves use the moving statistics of training)`
    : recipe;
}

function markdown(summary: PaperSummary, charts: readonly string[]): string {
  const lines: string[] = [];
  lines.push(
    `# Dynamic pruning of a CIFAR-10 CNN: the paper's comparison, measured${summary.quick ? ' (quick run)' : ''}`,
  );
  lines.push('');
  lines.push(
    `Measured ${summary.createdAt.slice(0, 10)} on ${summary.machine.cpus} CPU cores (${summary.machine.cpuModel}, no GPU), ` +
      `Node ${summary.machine.node}, tfjs backend \`${summary.backend}\`. ${timeLine(summary)}`,
  );
  lines.push('');
  lines.push('```sh');
  lines.push(summary.command.replace(/^.*?dynaprune/, 'npx dynaprune'));
  lines.push('```');
  lines.push('');
  if (summary.quick) {
    lines.push(
      '> This is a `--quick` run (5,000 training images, 2 epochs): a preview, not the comparison.',
    );
    lines.push('');
  }
  lines.push(
    `The sparse models must fit the paper CNN's budget of ${summary.budget.toLocaleString('en-US')} nonzero trainable parameters (biases and BatchNorm included).`,
  );
  lines.push('');
  lines.push('| ' + HEADER.join(' | ') + ' |');
  lines.push('|' + HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|');
  for (const row of resultsRows(summary)) lines.push('| ' + row.join(' | ') + ' |');
  lines.push('');
  lines.push('How each model was trained:');
  lines.push('');
  for (const m of summary.models)
    lines.push(
      `- **${m.label}** (\`${m.model}\`, method \`${m.method}\`): ${recipeLine(m)}. Run folder: \`${m.runDir}\`.`,
    );
  lines.push('');
  lines.push(
    `Inference time: median of batch-1 predictions on one thread, with ${summary.models[0]?.inferEngine ?? ''}` +
      (summary.models[0]?.denseInferEngine
        ? `, and for comparison the same weights dense on ${summary.models[0].denseInferEngine}`
        : '') +
      '. Multiply-adds skip zero weights.',
  );
  lines.push('');
  for (const chart of charts) lines.push(`![${chart}](${chart}.png)`, '');
  lines.push(
    'Per-epoch figures are in each run folder (`metrics.jsonl`); every mask update in `sparsity.jsonl`; all numbers in `summary.json`.',
  );
  return lines.join('\n') + '\n';
}

function html(summary: PaperSummary, svgs: readonly { name: string; svg: string }[]): string {
  const rows = resultsRows(summary)
    .map(
      (r) =>
        '<tr>' +
        r
          .map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`))
          .join('') +
        '</tr>',
    )
    .join('\n');
  const recipes = summary.models
    .map(
      (m) =>
        `<li><b>${escapeHtml(m.label)}</b> (<code>${escapeHtml(m.model)}</code>, <code>${escapeHtml(m.method)}</code>): ${escapeHtml(recipeLine(m))}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dynaprune: the paper's comparison</title>
<style>
body { font-family: system-ui, "DejaVu Sans", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 14px; } th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
thead th { background: #f4f4f4; } tbody th { text-align: left; } pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
figure { margin: 1.5em 0; } .note { background: #fff8e1; padding: 0.6em; }
</style></head><body>
<h1>Dynamic pruning of a CIFAR-10 CNN: the paper's comparison, measured${summary.quick ? ' (quick run)' : ''}</h1>
<p>Measured ${escapeHtml(summary.createdAt.slice(0, 10))} on ${summary.machine.cpus} CPU cores (${escapeHtml(summary.machine.cpuModel)}, no GPU),
Node ${escapeHtml(summary.machine.node)}, tfjs backend <code>${escapeHtml(summary.backend)}</code>. ${escapeHtml(timeLine(summary))}</p>
<pre>${escapeHtml(summary.command.replace(/^.*?dynaprune/, 'npx dynaprune'))}</pre>
${summary.quick ? '<p class="note">This is a <code>--quick</code> run (5,000 training images, 2 epochs): a preview, not the comparison.</p>' : ''}
<p>The sparse models must fit the paper CNN's budget of ${summary.budget.toLocaleString('en-US')} nonzero trainable parameters.</p>
<table><thead><tr>${HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table>
<ul>${recipes}</ul>
${svgs.map((s) => `<figure>${s.svg}</figure>`).join('\n')}
</body></html>
`;
}

/**
 * Writes `summary.json`, `report.md`, `report.html` (self-contained: the SVGs are inline) and
 * `accuracy`, `loss`, `sparsity` and `comparison` as `.svg` and `.png` into `dir`, each atomically.
 * Returns the paths written.
 */
export async function writeReport(dir: string, summary: PaperSummary): Promise<string[]> {
  const charts = [
    { name: 'accuracy', spec: curvesChart(summary, 'accuracy') },
    { name: 'loss', spec: curvesChart(summary, 'loss') },
    { name: 'sparsity', spec: sparsityChart(summary) },
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
