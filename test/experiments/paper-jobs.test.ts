// The comparison's scheduler with a stand-in runner: longest first, and freed threads handed to a running job.
import { describe, expect, it } from 'vitest';
import type { TrainingRunConfig } from '../../src/experiments/experiment.js';
import {
  runJobs,
  type JobEnd,
  type JobEvents,
  type JobMessage,
  type JobRunner,
  type OverallProgress,
  type ThreadHandover,
} from '../../src/experiments/paper-jobs.js';
import type { PaperJob, PaperRowId } from '../../src/experiments/paper-plan.js';

const STEPS_PER_EPOCH = 10;

/** A job of `epochs` epochs (one-shot: plus one of fine-tuning) on one thread, with an estimated cost. */
function job(row: PaperRowId, cost: number, epochs = 3): PaperJob {
  const oneshot = row === 'oneshot';
  const config: TrainingRunConfig = {
    model: 'paper-cnn',
    dataset: 'cifar10',
    epochs,
    batchSize: 32,
    learningRate: 1e-3,
    backend: 'wasm',
    threads: 1,
    seed: 1,
    out: `runs/${row}`,
    resume: false,
    augment: 'none',
    method: oneshot ? 'oneshot' : 'dense',
    ...(oneshot ? { finetuneEpochs: 1 } : {}),
  };
  const all = epochs + (oneshot ? 1 : 0);
  return { row, label: row, seed: 1, config, steps: all * STEPS_PER_EPOCH, cost };
}

/** One run started by the stand-in runner: what it was given, and handles to drive it. */
interface Launch {
  readonly config: TrainingRunConfig;
  readonly reuse: boolean;
  stops: number;
  send(message: JobMessage): void;
  end(end: JobEnd): void;
}

function standInRunner(): { runner: JobRunner; launches: Launch[] } {
  const launches: Launch[] = [];
  const runner: JobRunner = (config, reuse, onMessage) => {
    let end: (e: JobEnd) => void = () => undefined;
    const ended = new Promise<JobEnd>((resolve) => (end = resolve));
    const launch: Launch = { config, reuse, stops: 0, send: onMessage, end: (e) => end(e) };
    launches.push(launch);
    return {
      ended,
      stop: () => {
        launch.stops++;
      },
    };
  };
  return { runner, launches };
}

const batch = (epoch: number, batchDone: number): JobMessage => ({
  type: 'batch',
  progress: {
    epoch,
    epochs: 3,
    batch: batchDone,
    batches: STEPS_PER_EPOCH,
    imagesPerSecond: 100,
    elapsedSeconds: 1,
    loss: 1,
    acc: 0.5,
  },
});
const finished: JobEnd = { state: 'finished', origin: 'trained' };
/** Lets the scheduler react to what the stand-in runs did. */
const settle = () => new Promise((resolve) => setImmediate(resolve));
const outs = (launches: readonly Launch[]) => launches.map((l) => l.config.out);

describe('runJobs', () => {
  it('starts the longest jobs first and hands a finished job’s thread to the running one', async () => {
    const keras = job('keras-paper', 1);
    const dsr = job('dsr', 3);
    const oneshot = job('oneshot', 9);
    const { runner, launches } = standInRunner();
    const handovers: [PaperJob, ThreadHandover][] = [];
    let overall: OverallProgress | undefined;
    const events: JobEvents = {
      onThreads: (j, h) => handovers.push([j, h]),
      onBatch: (_, __, o) => {
        overall = o;
      },
    };
    const done = runJobs(
      [keras, dsr, oneshot],
      { parallel: 2, reuse: true, handover: true, runner },
      events,
    );
    await settle();
    expect(outs(launches)).toEqual(['runs/oneshot', 'runs/dsr']);
    expect(launches.every((l) => l.reuse)).toBe(true);
    launches[0]!.send(batch(1, 10));
    launches[1]!.end(finished);
    await settle();
    // A job still waited: the freed slot takes it, and nobody is asked to stop.
    expect(outs(launches)).toEqual(['runs/oneshot', 'runs/dsr', 'runs/keras-paper']);
    expect(launches[0]!.stops).toBe(0);
    launches[0]!.send(batch(2, 4));
    launches[2]!.end(finished);
    await settle();
    // The queue is empty: one-shot, with epochs ahead, is asked to stop at its next boundary.
    expect(launches[0]!.stops).toBe(1);
    expect(launches).toHaveLength(3);
    launches[0]!.send(batch(2, 10));
    launches[0]!.end({ state: 'stopped', epochsDone: 2 });
    await settle();
    expect(launches).toHaveLength(4);
    expect(launches[3]!.config).toEqual({ ...oneshot.config, threads: 2, resume: true });
    expect(launches[3]!.reuse).toBe(false);
    expect(handovers).toEqual([
      [oneshot, { threads: 2, added: 1, freedBy: [keras], epochsDone: 2, epochs: 4 }],
    ]);
    // Progress goes on from the checkpoint: dsr and keras done (30 + 30 steps), one-shot 2 epochs + 1 step.
    launches[3]!.send(batch(3, 1));
    expect(overall!.steps).toBe(30 + 30 + 21);
    expect(overall!.totalSteps).toBe(30 + 30 + 40);
    launches[3]!.end(finished);
    await done;
    expect(launches).toHaveLength(4);
  });

  it('leaves a job in its last epoch alone, and hands nothing without handover', async () => {
    for (const handover of [true, false]) {
      const { runner, launches } = standInRunner();
      const done = runJobs([job('dsr', 3), job('keras-paper', 1)], {
        parallel: 2,
        handover,
        runner,
      });
      await settle();
      launches[0]!.send(batch(handover ? 3 : 1, 2));
      launches[1]!.end(finished);
      await settle();
      expect(launches[0]!.stops).toBe(0);
      launches[0]!.end(finished);
      await done;
      expect(launches).toHaveLength(2);
    }
  });

  it('rejects with the error of a failed job after the others end', async () => {
    const { runner, launches } = standInRunner();
    const failing: JobRunner = (config, reuse, onMessage) => {
      const run = runner(config, reuse, onMessage);
      if (config.out !== 'runs/dsr') return run;
      return { ended: Promise.reject(new Error('no data')), stop: run.stop };
    };
    const done = runJobs([job('dsr', 3), job('keras-paper', 1)], { parallel: 2, runner: failing });
    let settled = false;
    done.catch(() => (settled = true));
    await settle();
    expect(settled).toBe(false);
    launches[1]!.end(finished);
    await expect(done).rejects.toThrow('no data');
  });
});
