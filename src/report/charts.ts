// Vega-Lite specifications of the report's charts, built from a summary: declarative, rendered elsewhere.
import type { TopLevelSpec } from 'vega-lite';
import { densityBands, seedBands } from './stats.js';
import type { EpochSummary, PaperSummary } from './summary.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 420;
const HEIGHT = 260;

/** One colour per model, the same in every chart. */
function colorScale(summary: PaperSummary): { domain: string[]; range: string[] } {
  const palette = [
    '#4c78a8',
    '#e45756',
    '#54a24b',
    '#f58518',
    '#b279a2',
    '#72b7b2',
    '#eeca3b',
    '#ff9da6',
    '#9d755d',
    '#bab0ac',
    '#1b5e20',
    '#6a3d9a',
  ];
  return {
    domain: summary.models.map((m) => m.label),
    range: summary.models.map((_, i) => palette[i % palette.length]!),
  };
}

/** The paper's reported points, under the label of the measured model they correspond to. */
function paperPoints(
  summary: PaperSummary,
  metric: 'accuracy' | 'loss',
): Record<string, unknown>[] {
  const points: Record<string, unknown>[] = [];
  // The paper's points are 10-epoch figures: a quick preview has nothing comparable to place them beside.
  if (summary.quick) return points;
  const label = (id: string) => summary.models.find((m) => m.id === id)?.label;
  const epochs = Math.max(...summary.models.map((m) => m.epochs.length));
  const baseline = label('keras-paper') ?? label('baseline');
  const dsr = label('dsr');
  if (metric === 'accuracy') {
    if (baseline)
      points.push({
        model: baseline,
        epoch: epochs,
        value: 100 * summary.paper.baseline.testAcc,
        source: 'paper (reported)',
      });
    if (dsr)
      for (const p of summary.paper.dsr.epochs)
        points.push({
          model: dsr,
          epoch: p.epoch,
          value: 100 * p.valAcc,
          source: 'paper (reported)',
        });
  } else if (baseline && summary.paper.baseline.testLoss !== null) {
    points.push({
      model: baseline,
      epoch: epochs,
      value: summary.paper.baseline.testLoss,
      source: 'paper (reported)',
    });
  }
  return points;
}

/** One point of a curve: the mean over the row's seeds at an epoch, and their range. */
interface CurvePoint {
  readonly model: string;
  readonly epoch: number;
  readonly split: string;
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly seeds: number;
}

/** Every row's validation and training curve, each point the mean over the seeds. */
function curvePoints(
  summary: PaperSummary,
  metric: 'accuracy' | 'loss',
  validationName: string,
): CurvePoint[] {
  const splits: [string, (e: EpochSummary) => number][] =
    metric === 'accuracy'
      ? [
          [validationName, (e) => 100 * e.valAcc],
          ['training', (e) => 100 * e.trainAcc],
        ]
      : [
          [validationName, (e) => e.valLoss],
          ['training', (e) => e.trainLoss],
        ];
  return summary.models.flatMap((m) =>
    splits.flatMap(([split, value]) =>
      seedBands(m, value).map((b) => ({
        model: m.label,
        epoch: b.epoch,
        split,
        value: b.mean,
        low: b.min,
        high: b.max,
        seeds: b.seeds,
      })),
    ),
  );
}

/**
 * Training and validation curves per epoch (the paper's Figures 2–5 in one chart): colour = model,
 * solid = validation (held-out images, or the test set as in the paper), dashed = training, each the mean
 * over the row's seeds, with a band from the lowest to the highest seed's validation figure; the paper's
 * reported values as large hollow points.
 */
export function curvesChart(summary: PaperSummary, metric: 'accuracy' | 'loss'): TopLevelSpec {
  const held = summary.models.find((m) => typeof m.validation === 'number')?.validation;
  const validationName =
    typeof held === 'number'
      ? `validation (${held.toLocaleString('en-US')} held-out training images)`
      : 'validation (test set)';
  const rows = curvePoints(summary, metric, validationName);
  // Bands where seeds differ are drawn for validation only: a second band per row would hide the lines.
  const bands = rows.filter((r) => r.split === validationName && r.seeds > 1);
  const yTitle = metric === 'accuracy' ? 'Accuracy (%)' : 'Cross-entropy loss';
  const color = {
    field: 'model',
    type: 'nominal' as const,
    title: 'Model',
    scale: colorScale(summary),
    legend: {
      symbolType: 'stroke',
      symbolStrokeWidth: 3,
      labelLimit: 800,
      orient: 'bottom' as const,
      direction: 'vertical' as const,
    },
  };
  return {
    $schema: SCHEMA,
    title: {
      text: metric === 'accuracy' ? 'Accuracy per epoch' : 'Loss per epoch',
      subtitle:
        `solid: ${validationName}, dashed: training` +
        (bands.length > 0 ? '; means over seeds, shaded: lowest to highest seed' : '') +
        (summary.quick ? '' : '; hollow points: the paper'),
    },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: bands },
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' },
          y: { field: 'low', type: 'quantitative' },
          y2: { field: 'high' },
          color,
        },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
          color,
          strokeDash: {
            field: 'split',
            type: 'nominal',
            title: 'Split',
            scale: {
              domain: [validationName, 'training'],
              range: [
                [1, 0],
                [5, 4],
              ],
            },
            // The subtitle explains solid and dashed; a legend of dash patterns renders poorly without colour.
            legend: null,
          },
          tooltip: [
            { field: 'model' },
            { field: 'split' },
            { field: 'epoch' },
            { field: 'value', format: '.3f', title: 'mean over seeds' },
            { field: 'seeds' },
            { field: 'low', format: '.3f', title: 'lowest seed' },
            { field: 'high', format: '.3f', title: 'highest seed' },
          ],
        },
      },
      {
        data: { values: paperPoints(summary, metric) },
        mark: { type: 'point', size: 140, strokeWidth: 2.5, filled: false, shape: 'diamond' },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          color,
          tooltip: [
            { field: 'source' },
            { field: 'model' },
            { field: 'epoch' },
            { field: 'value', format: '.2f' },
          ],
        },
      },
    ],
  };
}

/**
 * Per-layer density over training for the dynamic model (DSR's by default): how it moves weights between
 * layers. Each line is the mean over the row's seeds, shaded from the lowest to the highest seed.
 */
export function sparsityChart(summary: PaperSummary, modelId = 'dsr'): TopLevelSpec {
  const model =
    summary.models.find((m) => m.id === modelId && m.sparsityHistory.length > 1) ??
    summary.models.find((m) => m.sparsityHistory.length > 1);
  const rows = (model ? densityBands(model) : []).map((b) => ({
    step: b.step,
    layer: b.layer,
    density: 100 * b.mean,
    low: 100 * b.min,
    high: 100 * b.max,
    seeds: b.seeds,
  }));
  const seeds = Math.max(0, ...rows.map((r) => r.seeds));
  const bands = rows.filter((r) => r.seeds > 1);
  const firstSeed = model?.seeds?.[0]?.seed;
  const which =
    model === undefined
      ? ''
      : seeds > 1
        ? ` (${model.label}, mean of ${seeds} seeds)`
        : ` (${model.label}${firstSeed !== undefined ? `, seed ${firstSeed}` : ''})`;
  const color = {
    field: 'layer',
    type: 'nominal' as const,
    title: 'Layer',
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  };
  const x = { field: 'step', type: 'quantitative' as const };
  return {
    $schema: SCHEMA,
    title: {
      text: `Per-layer density during training${which}`,
      subtitle:
        'the share of each layer’s weights that are nonzero; DSR keeps the total fixed and moves it between layers' +
        (bands.length > 0 ? '; shaded: lowest to highest seed' : ''),
    },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: bands },
        mark: { type: 'area', interpolate: 'step-after', opacity: 0.15 },
        encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color },
      },
      {
        data: { values: rows },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, point: { size: 12 } },
        encoding: {
          x: { ...x, title: 'Training step', axis: { format: '~s' } },
          y: {
            field: 'density',
            type: 'quantitative',
            title: 'Nonzero weights in the layer (%)',
            scale: { zero: false },
          },
          color,
          tooltip: [
            { field: 'layer' },
            { field: 'step' },
            { field: 'density', format: '.2f', title: 'mean over seeds' },
            { field: 'seeds' },
            { field: 'low', format: '.2f', title: 'lowest seed' },
            { field: 'high', format: '.2f', title: 'highest seed' },
          ],
        },
      },
    ],
  };
}

/** The measured comparison that replaces the paper's Figure 6: one panel per metric, one bar per model. */
export function comparisonChart(summary: PaperSummary): TopLevelSpec {
  const metrics: { name: string; value: (m: PaperSummary['models'][number]) => number }[] = [
    { name: 'Test accuracy (%)', value: (m) => 100 * m.testAcc },
    {
      name: 'Generalization gap (train − validation accuracy, points)',
      // At the last epoch, the mean over the seeds.
      value: (m) => 100 * (seedBands(m, (e) => e.trainAcc - e.valAcc).at(-1)?.mean ?? 0),
    },
    { name: 'Nonzero parameters (thousands)', value: (m) => m.nnz / 1000 },
    { name: 'Stored size (KiB, CSR container)', value: (m) => m.storedBytes / 1024 },
    { name: 'Multiply-adds per image (millions)', value: (m) => m.macsPerImage / 1e6 },
    {
      name: 'Inference time per image (ms, batch 1, dynaprune runtime)',
      value: (m) => m.inferMsPerImage,
    },
  ];
  const rows = metrics.flatMap((metric) =>
    summary.models.map((m) => ({
      metric: metric.name,
      model: m.label,
      id: m.id,
      value: metric.value(m),
    })),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Measured comparison (in place of the paper’s Figure 6)', anchor: 'start' },
    data: { values: rows },
    facet: {
      field: 'metric',
      type: 'nominal',
      title: null,
      sort: metrics.map((m) => m.name),
      header: { labelFontSize: 12, labelFontWeight: 'bold' },
    },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 190,
      height: 150,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: {
              field: 'id',
              type: 'nominal',
              title: null,
              // Every bar is named: the row's short id under it, its full label in the legend.
              axis: { labelAngle: -45, labelLimit: 110, labelFontSize: 10 },
              sort: summary.models.map((m) => m.id),
            },
            y: { field: 'value', type: 'quantitative', title: null },
            color: {
              field: 'model',
              type: 'nominal',
              title: 'Model',
              scale: colorScale(summary),
              legend: { orient: 'bottom', columns: 1, labelLimit: 500 },
            },
            tooltip: [
              { field: 'model' },
              { field: 'id' },
              { field: 'metric' },
              { field: 'value', format: '.3~f' },
            ],
          },
        },
        {
          mark: {
            type: 'text',
            dy: summary.models.length > 6 ? 0 : -6,
            dx: summary.models.length > 6 ? 4 : 0,
            angle: summary.models.length > 6 ? 270 : 0,
            align: summary.models.length > 6 ? 'left' : 'center',
            fontSize: summary.models.length > 6 ? 8 : 11,
          },
          encoding: {
            x: { field: 'id', type: 'nominal', sort: summary.models.map((m) => m.id) },
            y: { field: 'value', type: 'quantitative' },
            text: { field: 'value', type: 'quantitative', format: '.3~r' },
          },
        },
      ],
    },
  };
}
