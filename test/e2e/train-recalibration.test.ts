// runTraining with --bn-recalibration: the statistics are re-estimated after training and both accuracies kept.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining } from '../../src/experiments/experiment.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED BatchNorm recalibration run test: ${CIFAR} is absent.`);

describe('runTraining with BatchNorm recalibration', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it.skipIf(!haveCifar)('records the accuracy before and after in result.json', async () => {
    out = await mkdtemp(join(tmpdir(), 'dynaprune-recal-'));
    const result = await runTraining({
      model: 'paper-cnn-wide',
      width: 0.25,
      dataset: 'cifar10',
      dataDir: CIFAR,
      epochs: 1,
      batchSize: 32,
      learningRate: 1e-3,
      trainLimit: 128,
      testLimit: 100,
      backend: 'wasm',
      seed: 1,
      out,
      resume: false,
      augment: 'none',
      batchNormMomentum: 0.9,
      batchNormRecalibration: 64,
    });
    const saved = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
    expect(saved.batchNormRecalibration.images).toBe(64);
    expect(saved.batchNormRecalibration.testAccBefore).toBe(result.epochs.at(-1)!.valAcc);
    expect(saved.testAcc).toBe(result.final.acc);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config.batchNormRecalibration).toBe(64);
  });
});
