// A stop request (TrainOptions.signal) ends training after an epoch's checkpoint; resuming ends where an uninterrupted run ends.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { TrainingStoppedError } from '../../src/errors.js';
import { checkpointEpoch } from '../../src/train/checkpoint.js';
import { train, type TrainResult } from '../../src/train/trainer.js';
import { sparseModel } from '../algorithms/helpers.js';
import { clockFreeEpochs, dsrRun, temporaryFolder, weightsOf } from './helpers.js';

/**
 * Four epochs of DSR at 80% with crop-and-flip and a cosine rate (the generator, the schedule and the
 * algorithm's state all cross the stop), in `runDir`; the signal is aborted during epoch `stopIn`.
 */
async function stoppableRun(runDir: string, options: { stopIn?: number; resume?: boolean } = {}) {
  const model = await sparseModel(0.8, 2);
  const controller = new AbortController();
  const begun: number[] = [];
  const run = dsrRun(model, runDir, options.resume === true, {
    augmentation: { cropPadding: 2, horizontalFlip: true },
    learningRateSchedule: 'cosine',
    signal: controller.signal,
    callbacks: {
      onEpochBegin: (epoch) => begun.push(epoch),
      onBatchEnd: (p) => {
        if (p.epoch === options.stopIn && p.batch === 3) controller.abort();
      },
    },
  });
  const { trainer } = run;
  try {
    const result: TrainResult = await train(run.options);
    return { result, weights: weightsOf(model), begun };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

describe('a stop request', () => {
  const inFolder = temporaryFolder('dynaprune-stop-');
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('stops after the checkpoint of the epoch in progress, and the resumed run ends as an uninterrupted one', async () => {
    const whole = await stoppableRun(inFolder('whole'));
    const split = inFolder('split');
    const stopped: unknown = await stoppableRun(split, { stopIn: 2 }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(TrainingStoppedError);
    expect((stopped as TrainingStoppedError).epochsDone).toBe(2);
    // The epoch in progress was finished and checkpointed before the loop stopped.
    expect(await checkpointEpoch(split)).toBe(2);
    const resumed = await stoppableRun(split, { resume: true });
    expect(resumed.begun).toEqual([3, 4]);
    expect(resumed.weights).toEqual(whole.weights);
    expect(clockFreeEpochs(resumed.result)).toEqual(clockFreeEpochs(whole.result));
    expect(resumed.result.steps).toBe(whole.result.steps);
    const H = (r: TrainResult) => r.sparsity.at(-1)?.['H'];
    expect(H(resumed.result)).toBeDefined();
    expect(H(resumed.result)).toBe(H(whole.result));
  });

  it('is ignored during the last epoch: the run ends there anyway', async () => {
    const last = await stoppableRun(inFolder('last'), { stopIn: 4 });
    expect(last.result.epochs).toHaveLength(4);
    expect(last.begun).toEqual([1, 2, 3, 4]);
  });
});
