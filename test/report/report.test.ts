// The report: every file is written, PNGs are real images with content, SVGs carry the axis titles.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { writeReport } from '../../src/report/report.js';
import {
  PAPER_NUMBERS,
  parseSummary,
  type ModelSummary,
  type PaperSummary,
} from '../../src/report/summary.js';
import { checkReportFiles } from './check-report.js';

function model(id: string, label: string, acc: number[]): ModelSummary {
  return {
    id,
    label,
    model: id === 'baseline' ? 'paper-cnn' : 'paper-cnn-wide',
    method: id === 'baseline' ? 'dense' : id,
    testAcc: acc[acc.length - 1]!,
    testLoss: 1 - acc[acc.length - 1]!,
    nnz: 120000,
    totalParams: id === 'baseline' ? 120000 : 1094122,
    denseBytes: 480000,
    storedBytes: id === 'baseline' ? 410000 : 49000,
    trainSeconds: 600,
    maskUpdateSeconds: id === 'dsr' ? 2 : 0,
    macsPerImage: 4.5e6,
    denseMacsPerImage: 36e6,
    inferMsPerImage: 0.4,
    inferEngine: 'test engine',
    ...(id === 'dsr'
      ? {
          batchNormRecalibration: {
            images: 10000,
            judgedOn: 'validation' as const,
            validationAccBefore: 0.7321,
            validationLossBefore: 0.9,
            validationAccAfter: 0.7702,
            validationLossAfter: 0.8,
          },
        }
      : {}),
    denseInferMsPerImage: 1.25,
    denseInferEngine: 'dense test engine',
    epochs: acc.map((a, i) => ({
      epoch: i + 1,
      trainLoss: 1.5 - 0.2 * i,
      trainAcc: a + 0.05,
      valLoss: 1.4 - 0.15 * i,
      valAcc: a,
      seconds: 60,
    })),
    sparsityHistory:
      id === 'dsr'
        ? [0, 100, 200].map((step, k) => ({
            step,
            epoch: 0,
            globalSparsity: 0.9,
            layers: [
              { name: 'conv1', size: 1000, nnz: 100 + 10 * k, sparsity: 0.9 - 0.01 * k },
              { name: 'fc1', size: 9000, nnz: 900 - 10 * k, sparsity: 0.9 + 0.0011 * k },
            ],
            ...(k === 0 ? { initial: true } : { H: 0.001 * k }),
          }))
        : [],
    runDir: `runs/${id}`,
    recipe: { epochs: acc.length, learningRate: 0.001 },
  };
}

const summary: PaperSummary = {
  createdAt: '2026-11-24T12:00:00.000Z',
  command: 'node dist/cli/main.js paper --out x',
  machine: { cpus: 2, cpuModel: 'Test CPU', memoryGiB: 24, os: 'linux', node: 'v20', gpu: 'none' },
  backend: 'wasm',
  quick: false,
  dataset: 'cifar10',
  budget: 122570,
  models: [
    model('baseline', 'Keras CNN (baseline)', [0.5, 0.6, 0.68]),
    model('dsr', 'Wide CNN, DSR', [0.55, 0.7, 0.78]),
    model('oneshot', 'Wide CNN, one-shot', [0.52, 0.66, 0.71]),
  ],
  paper: PAPER_NUMBERS,
  wallSeconds: 3600,
};

describe('writeReport', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the markdown, the HTML, and every chart as SVG and PNG', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-report-'));
    const files = await writeReport(dir, summary);
    expect(files.map((f) => f.slice(dir!.length + 1)).sort()).toEqual(
      ['accuracy', 'comparison', 'loss', 'sparsity']
        .flatMap((n) => [`${n}.png`, `${n}.svg`])
        .concat(['report.html', 'report.md', 'summary.json'])
        .sort(),
    );
    await checkReportFiles(
      dir,
      summary.models.map((m) => m.label),
    );
    const accuracySvg = await readFile(join(dir, 'accuracy.svg'), 'utf8');
    expect(accuracySvg).toContain('Accuracy (%)');
    expect(accuracySvg).toContain('Epoch');
    expect(await readFile(join(dir, 'sparsity.svg'), 'utf8')).toContain('Training step');
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // Measured next to the paper, with the difference: 78.00% vs 77.01%, +0.99 pts.
    expect(md).toContain('78.00%');
    expect(md).toContain('77.01%');
    expect(md).toContain('+0.99 pts');
    expect(md).toContain('70.42%');
    expect(md).toContain('1.0866');
    // Both latencies: the runtime's and the dense tfjs yardstick's.
    expect(md).toContain('0.400');
    expect(md).toContain('1.250');
    expect(md).toContain('dense test engine');
    expect(md).toContain('BatchNorm statistics re-estimated on 10,000 clean training images');
    expect(md).toContain('held-out validation accuracy 73.21% before, 77.02% after');
    expect(md).not.toContain('†');
  });

  it('validates summaries, naming the bad field', () => {
    expect(parseSummary(JSON.parse(JSON.stringify(summary))).models).toHaveLength(3);
    const bad = JSON.parse(JSON.stringify(summary));
    bad.models[1].nnz = 'many';
    expect(() => parseSummary(bad)).toThrow(InvalidArgumentError);
    expect(() => parseSummary(bad)).toThrow('summary.models[1].nnz');
    const badDense = JSON.parse(JSON.stringify(summary));
    badDense.models[0].denseInferMsPerImage = 'slow';
    expect(() => parseSummary(badDense)).toThrow('summary.models[0].denseInferMsPerImage');
    const badRecalibration = JSON.parse(JSON.stringify(summary));
    badRecalibration.models[1].batchNormRecalibration.validationAccAfter = 1.5;
    expect(() => parseSummary(badRecalibration)).toThrow(
      'summary.models[1].batchNormRecalibration.validationAccAfter',
    );
    // Older summaries judged the recalibration on the test set and kept only the test figures before it.
    const legacy = JSON.parse(JSON.stringify(summary));
    legacy.models[1].batchNormRecalibration = {
      images: 10000,
      testAccBefore: 0.7321,
      testLossBefore: 0.9,
    };
    expect(parseSummary(legacy).models[1]!.batchNormRecalibration).toEqual(
      legacy.models[1].batchNormRecalibration,
    );
    legacy.models[1].batchNormRecalibration.testAccBefore = 73.21;
    expect(() => parseSummary(legacy)).toThrow(
      'summary.models[1].batchNormRecalibration.testAccBefore',
    );
    const older = JSON.parse(JSON.stringify(summary));
    delete older.models[0].denseInferMsPerImage;
    expect(parseSummary(older).models[0]!.denseInferMsPerImage).toBeUndefined();
    const badAcc = JSON.parse(JSON.stringify(summary));
    badAcc.models[0].epochs[2].valAcc = 70;
    expect(() => parseSummary(badAcc)).toThrow(
      'summary.models[0].epochs[2].valAcc: expected a fraction',
    );
    expect(() => parseSummary(null)).toThrow(InvalidArgumentError);
  });
});
