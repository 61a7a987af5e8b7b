// A sparse DSR run resumed from a mid-run checkpoint ends exactly where an uninterrupted run ends.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { DynamicConv2D, DynamicDense } from '../../src/layers/index.js';
import type { SparsityRecord } from '../../src/train/hooks.js';
import { train, type TrainResult } from '../../src/train/trainer.js';
import { clockFreeEpochs, dsrRun, temporaryFolder } from './helpers.js';

function sparseCnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      new DynamicConv2D({
        inputShape: [8, 8, 3],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        sparsity: 0.8,
        seed: 1,
      }),
      tf.layers.flatten(),
      new DynamicDense({ units: 3, activation: 'softmax', sparsity: 0.8, seed: 2 }),
    ],
  });
}

/**
 * Trains a DSR model for 4 epochs in `runDir`; `stopAfter` interrupts it once that many epochs are
 * checkpointed (the schedule depends on the run's length, so an interrupted run keeps its 4 epochs).
 */
async function killableRun(runDir: string, options: { resume?: boolean; stopAfter?: number } = {}) {
  const model = sparseCnn();
  const { trainer, options: run } = dsrRun(model, runDir, options.resume === true, {
    callbacks: {
      // Called before the epoch's checkpoint is written: throwing here is a kill after `stopAfter`.
      onEpochEnd: (m) => {
        if (m.epoch === (options.stopAfter ?? Infinity) + 1) throw new Error('interrupted');
      },
    },
  });
  const result: TrainResult = await train(run);
  const masks = model.weights
    .filter((w) => w.originalName.endsWith('/mask'))
    .map((w) => Array.from(w.read().dataSync()));
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  return { result, masks, weights, records: trainer.records };
}

describe('resuming a sparse DSR run', () => {
  const inFolder = temporaryFolder('dynaprune-dsr-resume-');
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('ends with the same masks, threshold H, weights and metrics as an uninterrupted run', async () => {
    const whole = await killableRun(inFolder('whole'));
    await expect(killableRun(inFolder('split'), { stopAfter: 2 })).rejects.toThrow('interrupted');
    const resumed = await killableRun(inFolder('split'), { resume: true });
    // It rewired several times on each side of the interruption (12 steps per epoch, stopped at 24).
    expect(whole.records.filter((r) => r.step <= 24).length).toBeGreaterThan(3);
    expect(resumed.records.length).toBeGreaterThan(3);
    expect(resumed.masks).toEqual(whole.masks);
    expect(resumed.weights).toEqual(whole.weights);
    // Each run's sparsity.jsonl names its layers one way throughout, the names of the model that wrote it
    // last (the three models of this process carry three different tfjs counters).
    const names = (r: SparsityRecord) => r.layers.map((l) => l.name);
    const current = names(resumed.result.sparsity.at(-1)!);
    for (const r of resumed.result.sparsity) expect(names(r)).toEqual(current);
    const counterless = (records: readonly SparsityRecord[]): unknown =>
      JSON.parse(JSON.stringify(records).replace(/(DynamicConv2D|DynamicDense)\d+/g, '$1'));
    expect(counterless(resumed.result.sparsity)).toEqual(counterless(whole.result.sparsity));
    const H = (records: readonly SparsityRecord[]) => records.at(-1)?.['H'];
    expect(H(resumed.result.sparsity)).toBeDefined();
    expect(H(resumed.result.sparsity)).toBe(H(whole.result.sparsity));
    expect(clockFreeEpochs(resumed.result)).toEqual(clockFreeEpochs(whole.result));
  });
});
