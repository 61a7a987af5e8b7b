// measureRun (what `dynaprune paper` does to each row's first run): the model.dpr it writes carries the run's card.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { weightSparsity } from '../../src/convert/model-card.js';
import { CIFAR10_LABELS } from '../../src/data/cifar10-format.js';
import { measureRun } from '../../src/experiments/paper.js';
import { decodeModel } from '../../src/format/decode.js';
import { DynamicConv2D, DynamicDense } from '../../src/layers/index.js';
import { folderHandler } from '../../src/train/model-files.js';
import packageJson from '../../package.json' with { type: 'json' };

describe('measureRun', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  it('writes model.dpr with the input block, the labels and the provenance of the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-measure-'));
    folders.push(dir);
    const model = tf.sequential({
      layers: [
        new DynamicConv2D({
          inputShape: [32, 32, 3],
          filters: 4,
          kernelSize: 3,
          strides: 4,
          activation: 'relu',
          sparsity: 0.75,
          seed: 1,
        }),
        tf.layers.flatten(),
        new DynamicDense({ units: 10, activation: 'softmax', sparsity: 0.9, seed: 2 }),
      ],
    });
    await model.save(folderHandler(join(dir, 'model')));
    model.dispose();
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ model: 'tiny', dataset: 'cifar10', method: 'dsr', sparsity: 0.9 }),
    );
    await writeFile(join(dir, 'result.json'), JSON.stringify({ testAcc: 0.4375 }));

    await measureRun(dir);

    const graph = decodeModel(await readFile(join(dir, 'model.dpr')));
    expect(graph.metadata['input']).toEqual({
      shape: [32, 32, 3],
      layout: 'hwc',
      dtype: 'uint8',
      divisor: 255,
      mean: null,
      std: null,
    });
    expect(graph.metadata['labels']).toEqual([...CIFAR10_LABELS]);
    expect(graph.metadata['provenance']).toEqual({
      method: 'dsr',
      sparsity: weightSparsity(graph),
      dataset: 'cifar10',
      testAccuracy: 0.4375,
      dynapruneVersion: packageJson.version,
    });
    expect(weightSparsity(graph)).toBeGreaterThan(0.8);
    // result.json gains the measurements and keeps what it had.
    const result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as {
      testAcc: number;
      measured: { storedBytes: number };
    };
    expect(result.testAcc).toBe(0.4375);
    expect(result.measured.storedBytes).toBeGreaterThan(0);
  }, 120_000);
});
