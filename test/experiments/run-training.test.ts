// runTraining: one-shot fine-tuning keeps the run's options (issue #11, bug 2); a held-out validation split; stop and resume.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingStoppedError } from '../../src/errors.js';
import { runTraining, type TrainingRunConfig } from '../../src/experiments/experiment.js';
import { describeSoftware } from '../../src/experiments/machine.js';
import type { BatchProgress } from '../../src/train/trainer.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED runTraining tests: ${CIFAR} is absent.`);

const lines = async (path: string): Promise<Record<string, number>[]> =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('runTraining', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });
  const base = async (extra: Partial<TrainingRunConfig>): Promise<TrainingRunConfig> => {
    const out = await mkdtemp(join(tmpdir(), 'dynaprune-run-'));
    folders.push(out);
    return {
      model: 'paper-cnn-wide',
      width: 0.25,
      dataset: 'cifar10',
      dataDir: CIFAR,
      epochs: 1,
      batchSize: 32,
      learningRate: 0.05,
      trainLimit: 96,
      testLimit: 64,
      backend: 'wasm',
      seed: 1,
      out,
      resume: false,
      augment: 'none',
      ...extra,
    };
  };

  it.skipIf(!haveCifar)(
    "one-shot fine-tuning keeps the run's optimizer, schedule and run folder",
    async () => {
      const config = await base({
        method: 'oneshot',
        sparsity: 0.5,
        finetuneEpochs: 1,
        optimizer: 'sgd',
        momentum: 0.8,
        learningRateSchedule: 'cosine',
      });
      await runTraining(config);
      const metrics = await lines(join(config.out, 'metrics.jsonl'));
      expect(metrics).toHaveLength(2);
      // One cosine over both phases: the fine-tuning epoch ends near 0, not back at the peak.
      expect(metrics[1]!['learningRate']).toBeLessThan(0.05 * 0.1);
      expect(metrics[0]!['learningRate']).toBeGreaterThan(0.05 * 0.4);
      // The fine-tuning phase checkpoints in the run folder, with SGD's momentum, not Adam's moments.
      const checkpoints = join(config.out, 'finetune', 'checkpoints');
      const [latest] = await readdir(checkpoints);
      const specs = JSON.parse(
        await readFile(join(checkpoints, latest!, 'optimizer.json'), 'utf8'),
      ) as { name: string }[];
      expect(specs.some((s) => s.name.endsWith('/momentum'))).toBe(true);
      expect(specs.some((s) => s.name.endsWith('/m') || s.name.endsWith('/v'))).toBe(false);
    },
  );

  it.skipIf(!haveCifar)(
    'validates on held-out training images and tests once at the end',
    async () => {
      const config = await base({ validation: 50, testEachEpoch: true, epochs: 2 });
      const result = await runTraining(config);
      const saved = JSON.parse(await readFile(join(config.out, 'result.json'), 'utf8'));
      expect(saved.validation).toBe(50);
      expect(saved.testAcc).toBe(result.final.acc);
      const metrics = await lines(join(config.out, 'metrics.jsonl'));
      // Accuracies on 50 and 64 images are multiples of 1/50 and 1/64.
      for (const m of metrics) {
        expect(Math.abs(m['valAcc']! * 50 - Math.round(m['valAcc']! * 50))).toBeLessThan(1e-9);
        expect(Math.abs(m['testAcc']! * 64 - Math.round(m['testAcc']! * 64))).toBeLessThan(1e-9);
      }
      expect(saved.testAcc).toBe(metrics[1]!['testAcc']);
      expect(saved.validationAcc).toBe(metrics[1]!['valAcc']);
    },
  );

  it.skipIf(!haveCifar)(
    'a one-shot run stopped before and during fine-tuning resumes to the same model and figures',
    async () => {
      const settings: Partial<TrainingRunConfig> = {
        method: 'oneshot',
        sparsity: 0.5,
        epochs: 2,
        finetuneEpochs: 2,
        learningRateSchedule: 'cosine',
        augment: 'crop-flip',
      };
      const whole = await base(settings);
      await runTraining(whole);
      const split = await base(settings);
      /** Runs `split`, asking it to stop in the first batch of the `epoch`-th epoch of whichever phase. */
      const stopIn = async (epoch: number): Promise<unknown> => {
        const controller = new AbortController();
        const train = {
          onBatchEnd: (p: BatchProgress) => {
            if (p.epoch === epoch) controller.abort();
          },
        };
        return runTraining({ ...split, resume: true }, { train, signal: controller.signal }).catch(
          (e: unknown) => e,
        );
      };
      // In training's last epoch: it stops between the pruning and the fine-tuning.
      const first = await stopIn(2);
      expect(first).toBeInstanceOf(TrainingStoppedError);
      expect((first as TrainingStoppedError).epochsDone).toBe(2);
      // Resumed, it starts fine-tuning and stops after its first epoch.
      const second = await stopIn(1);
      expect(second).toBeInstanceOf(TrainingStoppedError);
      expect((second as TrainingStoppedError).epochsDone).toBe(1);
      await runTraining({ ...split, resume: true });
      const figures = async (out: string) => ({
        metrics: (await lines(join(out, 'metrics.jsonl'))).map(
          ({ trainLoss, trainAcc, valLoss, valAcc, learningRate }) => ({
            trainLoss,
            trainAcc,
            valLoss,
            valAcc,
            learningRate,
          }),
        ),
        result: (({ testAcc, testLoss, steps, nnz, layers }) => ({
          testAcc,
          testLoss,
          steps,
          nnz,
          sizes: (layers as { size: number; nnz: number }[]).map((l) => [l.size, l.nnz]),
        }))(
          JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as Record<string, unknown>,
        ),
        weights: await readFile(join(out, 'model', 'weights.bin')),
      });
      const expected = await figures(whole.out);
      expect(expected.metrics).toHaveLength(4);
      const got = await figures(split.out);
      expect(got.metrics).toEqual(expected.metrics);
      expect(got.result).toEqual(expected.result);
      expect(got.weights.equals(expected.weights)).toBe(true);
      // config.json names the software: of the first start, and of the last resume beside it.
      const stored = JSON.parse(await readFile(join(split.out, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(stored['software']).toEqual(describeSoftware());
      expect(stored['resumedWith']).toEqual(describeSoftware());
      const fresh = JSON.parse(await readFile(join(whole.out, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(fresh['software']).toEqual(describeSoftware());
      expect(fresh['resumedWith']).toBeUndefined();
    },
  );
});
