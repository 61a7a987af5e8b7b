// End to end: `dynaprune paper` on a tiny CIFAR-10 subset: rows over seeds, a report rebuilt from run files alone, resume.
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summaryFromRuns } from '../../src/report/from-runs.js';
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

/** Copies only the small files (what results/ commits) of a comparison folder. */
async function copySmallFiles(from: string, to: string): Promise<void> {
  const small = ['config.json', 'metrics.jsonl', 'sparsity.jsonl', 'result.json'];
  await cp(join(from, 'paper-run.json'), join(to, 'paper-run.json'));
  for (const row of await readdir(join(from, 'runs'))) {
    for (const seed of await readdir(join(from, 'runs', row))) {
      const dir = join(to, 'runs', row, seed);
      await mkdir(dir, { recursive: true });
      for (const f of small) {
        const path = join(from, 'runs', row, seed, f);
        if (existsSync(path)) await cp(path, join(dir, f));
      }
    }
  }
}

describe('dynaprune paper, tiny configuration', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });
  const temp = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-paper-'));
    folders.push(dir);
    return dir;
  };
  const base = (out: string): PaperOptions => ({
    out,
    dataDir: CIFAR,
    quick: true,
    backend: 'wasm',
    seed: 1,
    epochs: 2,
    trainLimit: 256,
    testLimit: 200,
    validation: 100,
    width: 1,
    batchNormRecalibration: 256,
  });

  it.skipIf(!haveCifar)(
    'trains rows over seeds, summarizes them, and rebuilds the same report from the small files',
    async () => {
      const out = await temp();
      const summary: PaperSummary = await runPaperComparison({
        ...base(out),
        seeds: 2,
        only: ['static', 'dsr'],
      });
      expect(summary.models.map((m) => m.id)).toEqual(['static', 'dsr']);
      for (const m of summary.models) {
        expect(m.seeds!.map((s) => s.seed)).toEqual([1, 2]);
        expect(m.epochs).toHaveLength(2);
        expect(m.validation).toBe(100);
        expect(m.storedBytes).toBeGreaterThan(0);
        expect(m.inferMsPerImage).toBeGreaterThan(0);
        expect(existsSync(join(m.runDir, 'model.dpr'))).toBe(true);
      }
      for (const m of summary.models) expect(m.nnz).toBeLessThanOrEqual(122_570);
      // Schedules scale with the run: DSR rewires several times even in 16 steps.
      const dsr = summary.models[1]!;
      expect(dsr.sparsityHistory.length).toBeGreaterThan(3);
      expect(dsr.sparsityHistory[0]!['initial']).toBe(true);
      expect(dsr.batchNormRecalibration?.images).toBe(256);
      expect(dsr.recipe['batchNormMomentum']).toBe(0.9);
      expect(dsr.finalLayers!.length).toBeGreaterThan(0);
      await writeReport(out, summary);
      await checkReportFiles(
        out,
        summary.models.map((m) => m.label),
      );
      const md = await readFile(join(out, 'report.md'), 'utf8');
      expect(md).toContain('not comparable with the paper');
      expect(md).not.toContain('| difference |');
      expect(md).toContain('DSR − ');

      // The report rebuilds from config.json, metrics.jsonl, sparsity.jsonl and result.json alone.
      const small = await temp();
      await copySmallFiles(out, small);
      const rebuilt = await summaryFromRuns(small);
      expect(rebuilt.models.map((m) => [m.id, m.testAcc, m.nnz, m.storedBytes])).toEqual(
        summary.models.map((m) => [m.id, m.testAcc, m.nnz, m.storedBytes]),
      );
      expect(rebuilt.command).toBe(summary.command);

      // Run again with reuse: the finished runs are read back, not trained again.
      let trainedBatches = 0;
      const again = await runPaperComparison(
        { ...base(out), seeds: 2, only: ['dsr'], reuse: true },
        { onBatch: () => void trainedBatches++ },
      );
      expect(trainedBatches).toBe(0);
      expect(again.models[0]!.testAcc).toBe(dsr.testAcc);
    },
    900_000,
  );

  it.skipIf(!haveCifar)(
    '--reuse resumes an interrupted run from its last checkpoint instead of retraining it',
    async () => {
      const out = await temp();
      const options: PaperOptions = { ...base(out), seeds: 1, seed: 7, only: ['keras-paper'] };
      // Interrupted at the start of epoch 2, after epoch 1's checkpoint was written.
      const interrupted = runPaperComparison(options, {
        onBatch: (_, p) => {
          if (p.epoch === 2) throw new Error('simulated interruption in epoch 2');
        },
      });
      await expect(interrupted).rejects.toThrow(/simulated interruption/);
      const logs: string[] = [];
      let trainedBatches = 0;
      const resumed = await runPaperComparison(
        { ...options, reuse: true },
        { onBatch: () => void trainedBatches++, onLog: (_, line) => logs.push(line) },
      );
      // 256 images at batch 32: one epoch (the second) is 8 batches; retraining would be 16.
      expect(trainedBatches).toBe(8);
      expect(logs.some((l) => l.startsWith('resuming the interrupted run'))).toBe(true);
      expect(resumed.models[0]!.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    },
    600_000,
  );
});
