// `dynaprune eval FILE --sparsity 0.9,0.95,...`: the model pruned further at each sparsity on the runtime, as a
// table (accuracy, batch-1 latency, switch time) and a chart of accuracy against latency.
import { writeFile } from 'node:fs/promises';
import type { Dataset } from '../../data/types.js';
import { sparsitySweep, type SweepPoint } from '../../experiments/sparsity-sweep.js';
import type { PruneScope } from '../../graph/prune.js';
import type { ModelGraph } from '../../graph/types.js';
import { renderPng, renderSvg } from '../../report/render.js';
import { sweepChart } from '../../report/sweep-chart.js';
import { createNetwork } from '../../runtime/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { sparsity as parseSparsity } from '../parse.js';

/** Parses `0.9,0.95,0.98`: each a sparsity in [0, 1). */
export function parseSparsityList(value: string): number[] {
  const list = value.split(',').map((s) => parseSparsity('--sparsity', s.trim()));
  if (list.length === 0)
    throw new InvalidArgumentError('--sparsity needs one or more sparsities, like 0.9,0.95,0.98.');
  return list;
}

function table(points: readonly SweepPoint[]): string {
  const rows = points.map((p) => [
    p.target === 0 ? 'stored' : p.target.toFixed(3),
    `${(100 * p.sparsity).toFixed(2)}%`,
    p.nnz.toLocaleString('en'),
    `${(100 * p.accuracy).toFixed(2)}%`,
    p.latencyMs.toFixed(3),
    p.target === 0 ? '' : p.switchMs.toFixed(1),
  ]);
  const header = ['target', 'sparsity', 'nnz', 'accuracy', 'latency ms (batch 1)', 'switch ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |';
  return [
    line(header),
    '|' + widths.map((w) => '-'.repeat(w + 1) + ':').join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

export interface EvalSparsityFlags {
  readonly sparsity: string;
  readonly pruneScope: PruneScope;
  /** Where to write the chart: PATH.svg and PATH.png, plus PATH.json with the points. */
  readonly out: string;
}

/** Runs the sweep on the whole test split given and writes the table, the chart and the points. */
export async function evalSparsity(
  file: string,
  graph: ModelGraph,
  data: Dataset,
  flags: EvalSparsityFlags,
): Promise<void> {
  const targets = parseSparsityList(flags.sparsity).sort((a, b) => a - b);
  const net = await createNetwork(graph);
  process.stderr.write(`runtime engine: ${net.engine}; pruning scope: ${flags.pruneScope}\n`);
  const images = Float32Array.from(data.test.images, (v) => v / 255);
  const points = sparsitySweep(net, images, data.test.labels, data.test.count, targets, {
    scope: flags.pruneScope,
    onPoint: (p) =>
      process.stderr.write(
        `  ${p.target === 0 ? 'stored' : p.target}: ${(100 * p.accuracy).toFixed(2)}% in ${p.latencyMs.toFixed(3)} ms\n`,
      ),
  });
  process.stdout.write(
    `${file}: ${data.test.count} ${data.name} test images, pruned further by magnitude (${flags.pruneScope})\n` +
      table(points) +
      '\n',
  );
  const svg = await renderSvg(
    sweepChart(points, `${file.split('/').pop()}: accuracy against latency as sparsity rises`),
  );
  await writeFile(`${flags.out}.svg`, svg);
  await writeFile(`${flags.out}.png`, renderPng(svg));
  const json = {
    file,
    dataset: data.name,
    images: data.test.count,
    scope: flags.pruneScope,
    points,
  };
  await writeFile(`${flags.out}.json`, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`chart: ${flags.out}.svg, ${flags.out}.png; points: ${flags.out}.json\n`);
}
