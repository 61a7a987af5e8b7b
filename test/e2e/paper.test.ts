// End to end: `dynaprune paper` on a tiny CIFAR-10 subset writes a complete summary (and, with the report, its files).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/report.js';
import {
  runPaperComparison,
  type PaperOptions,
  type PaperSummary,
} from '../../src/experiments/paper.js';
import { checkReportFiles } from '../report/check-report.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED paper end-to-end test: ${CIFAR} is absent.`);

describe('dynaprune paper, tiny configuration', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it.skipIf(!haveCifar)(
    'trains the three models, summarizes them and writes the report',
    async () => {
      out = await mkdtemp(join(tmpdir(), 'dynaprune-paper-'));
      const options: PaperOptions = {
        out,
        dataDir: CIFAR,
        quick: true,
        backend: 'wasm',
        seed: 1,
        epochs: 2,
        trainLimit: 256,
        testLimit: 200,
        width: 1,
      };
      const summary: PaperSummary = await runPaperComparison(options);
      expect(summary.models.map((m) => m.id)).toEqual(['baseline', 'dsr', 'oneshot']);
      for (const m of summary.models) {
        expect(m.epochs).toHaveLength(2);
        expect(m.testAcc).toBeGreaterThanOrEqual(0);
        expect(m.storedBytes).toBeGreaterThan(0);
        expect(m.denseBytes).toBeGreaterThan(m.storedBytes * 0.5);
        expect(m.macsPerImage).toBeGreaterThan(0);
        expect(m.inferMsPerImage).toBeGreaterThan(0);
        expect(m.denseInferMsPerImage).toBeGreaterThan(0);
        expect(m.inferEngine).toContain('dynaprune runtime');
        expect(existsSync(join(m.runDir, 'model.dpr'))).toBe(true);
      }
      // The sparse models meet the paper CNN's nonzero budget.
      for (const m of summary.models.slice(1)) expect(m.nnz).toBeLessThanOrEqual(122_570);
      expect(summary.models[1]!.sparsityHistory[0]!['initial']).toBe(true);
      // Quick runs use BatchNorm momentum 0.9 for the models with BatchNorm, recorded in their config.
      const dsrConfig = JSON.parse(await readFile(join(out, 'runs', 'dsr', 'config.json'), 'utf8'));
      expect(dsrConfig.batchNormMomentum).toBe(0.9);
      expect(summary.models[1]!.recipe['batchNormMomentum']).toBe(0.9);
      // BatchNorm statistics re-estimated after training for the models that have BatchNorm, and recorded.
      expect(summary.models[0]!.batchNormRecalibration).toBeUndefined();
      for (const m of summary.models.slice(1)) {
        expect(m.batchNormRecalibration?.images).toBe(256);
        const saved = JSON.parse(
          await readFile(join(m.runDir, 'batchnorm-recalibration.json'), 'utf8'),
        );
        expect(saved.testAcc).toBe(m.testAcc);
        expect(saved.testAccBefore).toBe(m.batchNormRecalibration!.testAccBefore);
      }
      const metrics = await readFile(join(out, 'runs', 'dsr', 'metrics.jsonl'), 'utf8');
      expect(metrics.trim().split('\n')).toHaveLength(2);
      await writeReport(out, summary);
      await checkReportFiles(
        out,
        summary.models.map((m) => m.label),
      );

      // Run again with reuse: the finished runs are read back, not trained again, and summarize the same.
      const logs: string[] = [];
      let trainedBatches = 0;
      const again = await runPaperComparison(
        { ...options, reuse: true, only: ['dsr', 'oneshot'] },
        { onLog: (line) => logs.push(line), train: { onBatchEnd: () => void trainedBatches++ } },
      );
      expect(trainedBatches).toBe(0);
      expect(logs.filter((l) => l.startsWith('reusing the finished run'))).toHaveLength(2);
      expect(again.models.map((m) => m.id)).toEqual(['dsr', 'oneshot']);
      for (const [i, m] of again.models.entries()) {
        const first = summary.models[i + 1]!;
        expect(m.testAcc).toBe(first.testAcc);
        expect(m.epochs).toEqual(first.epochs);
        expect(m.sparsityHistory).toEqual(first.sparsityHistory);
        expect(m.nnz).toBe(first.nnz);
        expect(m.storedBytes).toBe(first.storedBytes);
      }
      // A different definition (here the seed) is not reused: it trains.
      const other = await runPaperComparison(
        { ...options, seed: 2, reuse: true, only: ['baseline'] },
        { train: { onBatchEnd: () => void trainedBatches++ } },
      );
      expect(trainedBatches).toBeGreaterThan(0);
      expect(other.models.map((m) => m.id)).toEqual(['baseline']);
    },
  );
});
