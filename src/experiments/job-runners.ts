// How one run of the comparison is trained: in a child process (stoppable over IPC) or in this process.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TrainingStoppedError } from '../errors.js';
import type { BatchProgress, EpochMetrics } from '../train/trainer.js';
import {
  trainOrReuse,
  type RunOrigin,
  type TrainingRunConfig,
  type TrainingRunEvents,
} from './experiment.js';

/** What a run reports while it trains. */
export type JobMessage =
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'batch'; readonly progress: BatchProgress }
  | { readonly type: 'epoch'; readonly metrics: EpochMetrics };

/**
 * How a run ended: finished (trained, resumed or reused), or stopped on request at an epoch boundary with
 * its checkpoint written, `epochsDone` epochs into the training call that stopped.
 */
export type JobEnd =
  | { readonly state: 'finished'; readonly origin: RunOrigin }
  | { readonly state: 'stopped'; readonly epochsDone: number };

/** One run under way. */
export interface JobRun {
  /** Settles when the run ends; rejects with its error when it fails. */
  readonly ended: Promise<JobEnd>;
  /** Asks it to stop at its next epoch boundary, after the checkpoint (ignored in its last epoch). */
  stop(): void;
}

/** Starts one run of `config` (`reuse` as in trainOrReuse), reporting its progress to `onMessage`. */
export type JobRunner = (
  config: TrainingRunConfig,
  reuse: boolean,
  onMessage: (message: JobMessage) => void,
) => JobRun;

/** From the parent to a worker, and back. */
type ToWorker =
  | { readonly type: 'run'; readonly config: TrainingRunConfig; readonly reuse: boolean }
  | { readonly type: 'stop' };
type FromWorker =
  | JobMessage
  | { readonly type: 'end'; readonly end: JobEnd }
  | { readonly type: 'error'; readonly message: string };

function forwarding(send: (m: JobMessage) => void, signal: AbortSignal): TrainingRunEvents {
  return {
    onLog: (line) => send({ type: 'log', line }),
    train: {
      onBatchEnd: (progress) => send({ type: 'batch', progress }),
      onEpochEnd: (metrics) => send({ type: 'epoch', metrics }),
      onEvaluate: (images) => send({ type: 'log', line: `evaluating on ${images} images...` }),
      onSparsity: (record) => {
        if (typeof record['warning'] === 'string')
          send({ type: 'log', line: `warning: ${record['warning']}` });
      },
    },
    signal,
  };
}

/** Trains (or reuses) one run; a stop request honoured at an epoch boundary ends it as `stopped`. */
async function trainJob(
  config: TrainingRunConfig,
  reuse: boolean,
  send: (m: JobMessage) => void,
  signal: AbortSignal,
): Promise<JobEnd> {
  try {
    const { origin } = await trainOrReuse(config, reuse, forwarding(send, signal));
    return { state: 'finished', origin };
  } catch (error) {
    if (error instanceof TrainingStoppedError)
      return { state: 'stopped', epochsDone: error.epochsDone };
    throw error;
  }
}

/** Runs in this process (its backend's threads are those of the first run: a process cannot change them). */
export const inProcessRunner: JobRunner = (config, reuse, onMessage) => {
  const controller = new AbortController();
  return {
    ended: trainJob(config, reuse, onMessage, controller.signal),
    stop: () => controller.abort(),
  };
};

/** The compiled worker beside this module, when there is one (not when running from TypeScript sources). */
export function workerPath(): string | undefined {
  const path = fileURLToPath(new URL('./paper-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}

/** Runs each run in a child process started from `path` (the compiled paper-worker.js). */
export function childRunner(path: string): JobRunner {
  return (config, reuse, onMessage) => {
    const child = fork(path, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // A worker never outlives the comparison (Ctrl-C, an error): it would go on training unseen.
    const kill = () => child.kill();
    process.once('exit', kill);
    const ended = new Promise<JobEnd>((resolve, reject) => {
      let end: JobEnd | undefined;
      let error: string | undefined;
      child.on('message', (m: FromWorker) => {
        if (m.type === 'end') end = m.end;
        else if (m.type === 'error') error = m.message;
        else onMessage(m);
      });
      child.on('exit', (code) => {
        process.removeListener('exit', kill);
        if (end) resolve(end);
        else
          reject(new Error(error ?? `the run ${config.out} stopped (exit code ${String(code)})`));
      });
    });
    const send = (m: ToWorker) => {
      if (child.connected) child.send(m);
    };
    send({ type: 'run', config, reuse });
    return { ended, stop: () => send({ type: 'stop' }) };
  };
}

/** The worker's side: runs one job from the parent's message, reports progress, stops when asked, exits. */
export function serveOneJob(): void {
  const controller = new AbortController();
  const send = (m: FromWorker) => process.send?.(m);
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      controller.abort();
      return;
    }
    trainJob(message.config, message.reuse, send, controller.signal)
      .then((end) => send({ type: 'end', end }))
      .catch((e: unknown) =>
        send({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => process.disconnect?.());
  });
}
