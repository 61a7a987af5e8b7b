// One epoch of DSR training on 2,000 real CIFAR-10 images on the dense and the sparse kernels: same accuracy.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining, type TrainingRunConfig } from '../../src/experiments/experiment.js';
import * as tf from '@tensorflow/tfjs';
import { folderHandler } from '../../src/train/model-files.js';
import { maskedLayers, registerDynamicLayers } from '../../src/layers/index.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED sparse-kernel training test: ${CIFAR} is absent.`);

describe('training on the sparse kernels', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.skipIf(!haveCifar)(
    'reaches the dense kernels accuracy within 0.5 points after 1 epoch on 2,000 images (same seed)',
    async () => {
      const run = async (kernels: 'dense' | 'sparse') => {
        const out = await mkdtemp(join(tmpdir(), `dynaprune-${kernels}-`));
        dirs.push(out);
        const config: TrainingRunConfig = {
          model: 'paper-cnn',
          dataset: 'cifar10',
          dataDir: CIFAR,
          epochs: 1,
          batchSize: 32,
          learningRate: 1e-3,
          trainLimit: 2000,
          testLimit: 2000,
          backend: 'wasm',
          seed: 3,
          out,
          resume: false,
          augment: 'none',
          method: 'dsr',
          sparsity: 0.5,
          period: 5,
          kernels,
        };
        return { result: await runTraining(config), out };
      };
      const dense = await run('dense');
      const sparse = await run('sparse');
      // Both runs rewired their masks (DSR from every 5 steps) and ended at the same global sparsity.
      expect(sparse.result.sparsity.length).toBeGreaterThan(1);
      expect(sparse.result.sparsity.at(-1)!.globalSparsity).toBeCloseTo(
        dense.result.sparsity.at(-1)!.globalSparsity,
        6,
      );
      const points = Math.abs(sparse.result.final.acc - dense.result.final.acc) * 100;
      expect(points).toBeLessThanOrEqual(0.5);
      expect(sparse.result.final.acc).toBeGreaterThan(0.15); // it learned something (chance is 0.1)
      // The saved model of the sparse run: its masked weights are exactly 0.
      registerDynamicLayers();
      const model = await tf.loadLayersModel(folderHandler(join(sparse.out, 'model')));
      for (const layer of maskedLayers(model)) {
        const mask = layer.getMask();
        const kernel = layer.getKernel();
        for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(kernel[i]).toBe(0);
      }
      model.dispose();
    },
    // Two 2,000-image trainings: past the default 120 s on a loaded 2-core machine.
    600_000,
  );
});
