// runTraining with --bn-recalibration: judged on the validation split, the test set read once, at the end.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runTraining, type TrainingRunConfig } from '../../src/experiments/experiment.js';
import type { ImageSplit } from '../../src/data/types.js';
import * as trainer from '../../src/train/trainer.js';

// Every evaluation outside the training loop (the loop's own per-epoch validation calls its local binding).
vi.mock('../../src/train/trainer.js', async (importOriginal) => {
  const actual = await importOriginal<typeof trainer>();
  return { ...actual, evaluate: vi.fn(actual.evaluate) };
});

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED BatchNorm recalibration run test: ${CIFAR} is absent.`);

// Distinct sizes tell the splits apart in the evaluate calls.
const TRAIN = 96;
const VALIDATION = 40;
const TEST = 64;

describe('runTraining with BatchNorm recalibration', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });
  // A block, not an arrow's value: a function returned from beforeEach would run as its teardown.
  beforeEach(() => {
    vi.mocked(trainer.evaluate).mockClear();
  });
  const config = async (extra: Partial<TrainingRunConfig>): Promise<TrainingRunConfig> => {
    const out = await mkdtemp(join(tmpdir(), 'dynaprune-recal-'));
    folders.push(out);
    return {
      model: 'paper-cnn-wide',
      width: 0.25,
      dataset: 'cifar10',
      dataDir: CIFAR,
      epochs: 1,
      batchSize: 32,
      learningRate: 1e-3,
      trainLimit: TRAIN,
      testLimit: TEST,
      backend: 'wasm',
      seed: 1,
      out,
      resume: false,
      augment: 'none',
      batchNormMomentum: 0.9,
      // More than the training part: only its 96 images may be used, never the held-out ones.
      batchNormRecalibration: 1000,
      ...extra,
    };
  };
  const evaluatedCounts = (): number[] =>
    vi.mocked(trainer.evaluate).mock.calls.map((c) => (c[1] as ImageSplit).count);

  it.skipIf(!haveCifar)(
    'judges the recalibration on the held-out validation split and reads the test set once, last',
    async () => {
      const run = await config({ validation: VALIDATION });
      const result = await runTraining(run);
      const counts = evaluatedCounts();
      expect(counts.filter((c) => c === TEST)).toHaveLength(1);
      expect(counts.at(-1)).toBe(TEST);
      expect(counts.filter((c) => c === VALIDATION)).toHaveLength(1);
      const saved = JSON.parse(await readFile(join(run.out, 'result.json'), 'utf8'));
      const record = saved.batchNormRecalibration;
      expect(record.images).toBe(TRAIN);
      expect(record.judgedOn).toBe('validation');
      expect(record.testAccBefore).toBeUndefined();
      expect(record.validationAccBefore).toBe(result.epochs.at(-1)!.valAcc);
      expect(record.validationLossBefore).toBe(result.epochs.at(-1)!.valLoss);
      // Kept only if it raised validation accuracy; the final model's figures are those of the model kept.
      expect(record.kept).toBe(record.validationAccAfter > record.validationAccBefore);
      const kept = record.kept ? 'After' : 'Before';
      expect(saved.validationAcc).toBe(record[`validationAcc${kept}`]);
      expect(saved.validationLoss).toBe(record[`validationLoss${kept}`]);
      expect(saved.testAcc).toBe(result.final.acc);
      expect(result.batchNormRecalibration).toEqual(record);
    },
  );

  it.skipIf(!haveCifar)(
    'without a held-out split, says its validation data is the test set',
    async () => {
      const run = await config({});
      const result = await runTraining(run);
      // One read of the test set after training: the recalibrated model's, which is the result.
      expect(evaluatedCounts()).toEqual([TEST]);
      const saved = JSON.parse(await readFile(join(run.out, 'result.json'), 'utf8'));
      expect(saved.batchNormRecalibration.judgedOn).toBe('test');
      expect(saved.batchNormRecalibration.validationAccBefore).toBe(result.epochs.at(-1)!.valAcc);
      expect(saved.testAcc).toBe(saved.batchNormRecalibration.validationAccAfter);
      const stored = JSON.parse(await readFile(join(run.out, 'config.json'), 'utf8'));
      expect(stored.batchNormRecalibration).toBe(1000);
    },
  );
});
