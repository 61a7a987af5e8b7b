// A stop request (TrainOptions.signal) ends training after an epoch's checkpoint; resuming ends where an uninterrupted run ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DSR } from '../../src/algorithms/dsr.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { initBackend } from '../../src/engine/backend.js';
import { TrainingStoppedError } from '../../src/errors.js';
import { checkpointEpoch } from '../../src/train/checkpoint.js';
import { train, type TrainResult } from '../../src/train/trainer.js';
import { sparseModel } from '../algorithms/helpers.js';
import { trainOptions, weightsOf } from './helpers.js';

/**
 * Four epochs of DSR at 80% with crop-and-flip and a cosine rate (the generator, the schedule and the
 * algorithm's state all cross the stop), in `runDir`; the signal is aborted during epoch `stopIn`.
 */
async function dsrRun(runDir: string, options: { stopIn?: number; resume?: boolean } = {}) {
  const model = await sparseModel(0.8, 2);
  const trainer = new SparseTrainer(model, new DSR({ targetPruned: 10 }));
  const controller = new AbortController();
  const begun: number[] = [];
  try {
    const result: TrainResult = await train(
      trainOptions(model, {
        epochs: 4,
        batchSize: 8,
        seed: 3,
        hooks: [trainer],
        runDir,
        resume: options.resume === true,
        augmentation: { cropPadding: 2, horizontalFlip: true },
        learningRateSchedule: 'cosine',
        signal: controller.signal,
        callbacks: {
          onEpochBegin: (epoch) => begun.push(epoch),
          onBatchEnd: (p) => {
            if (p.epoch === options.stopIn && p.batch === 3) controller.abort();
          },
        },
      }),
    );
    return { result, weights: weightsOf(model), begun };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** The figures of each epoch that do not depend on the clock. */
const comparable = (r: TrainResult) =>
  r.epochs.map(({ epoch, trainLoss, trainAcc, valLoss, valAcc, learningRate }) => ({
    epoch,
    trainLoss,
    trainAcc,
    valLoss,
    valAcc,
    learningRate,
  }));

describe('a stop request', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-stop-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops after the checkpoint of the epoch in progress, and the resumed run ends as an uninterrupted one', async () => {
    const whole = await dsrRun(join(dir, 'whole'));
    const split = join(dir, 'split');
    const stopped: unknown = await dsrRun(split, { stopIn: 2 }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(TrainingStoppedError);
    expect((stopped as TrainingStoppedError).epochsDone).toBe(2);
    // The epoch in progress was finished and checkpointed before the loop stopped.
    expect(await checkpointEpoch(split)).toBe(2);
    const resumed = await dsrRun(split, { resume: true });
    expect(resumed.begun).toEqual([3, 4]);
    expect(resumed.weights).toEqual(whole.weights);
    expect(comparable(resumed.result)).toEqual(comparable(whole.result));
    expect(resumed.result.steps).toBe(whole.result.steps);
    const H = (r: TrainResult) => r.sparsity.at(-1)?.['H'];
    expect(H(resumed.result)).toBeDefined();
    expect(H(resumed.result)).toBe(H(whole.result));
  });

  it('is ignored during the last epoch: the run ends there anyway', async () => {
    const last = await dsrRun(join(dir, 'last'), { stopIn: 4 });
    expect(last.result.epochs).toHaveLength(4);
    expect(last.begun).toEqual([1, 2, 3, 4]);
  });
});
