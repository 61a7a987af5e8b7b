// Runs the comparison's training jobs, N at once in child processes (or one by one here), with an overall ETA.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trainOrReuse, type RunOrigin, type TrainingRunEvents } from './experiment.js';
import type { PaperJob } from './paper-plan.js';
import type { BatchProgress, EpochMetrics } from '../train/trainer.js';

/** The whole comparison's progress, after every batch of any job. */
export interface OverallProgress {
  readonly jobsDone: number;
  readonly jobs: number;
  /** Steps done over all jobs (reused runs count as done), and the total. */
  readonly steps: number;
  readonly totalSteps: number;
  /** Seconds since the jobs started. */
  readonly elapsedSeconds: number;
  /** Estimated seconds left, from this session's step rate; undefined until a step has been timed. */
  readonly etaSeconds: number | undefined;
}

export interface JobEvents {
  onLog?(job: PaperJob, line: string): void;
  onJobBegin?(job: PaperJob): void;
  onBatch?(job: PaperJob, progress: BatchProgress, overall: OverallProgress): void;
  onEpoch?(job: PaperJob, metrics: EpochMetrics, overall: OverallProgress): void;
  onJobEnd?(job: PaperJob, origin: RunOrigin, overall: OverallProgress): void;
}

/** Messages a worker sends back. */
type WorkerMessage =
  | { type: 'log'; line: string }
  | { type: 'batch'; progress: BatchProgress }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'done'; origin: RunOrigin }
  | { type: 'error'; message: string };

/** Counts steps across jobs and turns them into an ETA. */
class Tracker {
  private readonly done = new Map<PaperJob, number>();
  private trained = 0;
  private jobsDone = 0;
  private readonly started = Date.now();
  /** When the first step of this session was trained: reused runs before it do not dilute the rate. */
  private firstStepAt: number | undefined;
  constructor(private readonly jobs: readonly PaperJob[]) {}

  step(job: PaperJob, progress: BatchProgress, offsetEpochs: number): void {
    const steps = (progress.epoch - 1 + offsetEpochs) * progress.batches + progress.batch;
    const before = this.done.get(job) ?? 0;
    if (steps > before) {
      this.firstStepAt ??= Date.now();
      this.trained += steps - before;
    }
    this.done.set(job, steps);
  }

  finish(job: PaperJob): void {
    this.done.set(job, job.steps);
    this.jobsDone++;
  }

  get overall(): OverallProgress {
    const total = this.jobs.reduce((a, j) => a + j.steps, 0);
    const steps = [...this.done.values()].reduce((a, b) => a + b, 0);
    const elapsed = (Date.now() - this.started) / 1000;
    const training = this.firstStepAt === undefined ? 0 : (Date.now() - this.firstStepAt) / 1000;
    const rate = this.trained > 1 && training > 0 ? this.trained / training : 0;
    return {
      jobsDone: this.jobsDone,
      jobs: this.jobs.length,
      steps,
      totalSteps: total,
      elapsedSeconds: elapsed,
      etaSeconds: rate > 0 ? Math.max(0, total - steps) / rate : undefined,
    };
  }
}

/** The compiled worker beside this module, when there is one (not when running from TypeScript sources). */
function workerPath(): string | undefined {
  const path = fileURLToPath(new URL('./paper-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}

/**
 * Trains every job: `parallel` at once in child processes when the compiled worker exists, otherwise one
 * after another in this process. With `reuse`, finished runs are read back and interrupted ones resume
 * from their last checkpoint. Rejects with the first job's error after the running jobs end.
 */
export async function runJobs(
  jobs: readonly PaperJob[],
  parallel: number,
  reuse: boolean,
  events: JobEvents = {},
): Promise<void> {
  const tracker = new Tracker(jobs);
  const worker = parallel > 1 ? workerPath() : undefined;
  const queue = [...jobs];
  let failure: Error | undefined;
  const next = async (): Promise<void> => {
    for (let job = queue.shift(); job && !failure; job = queue.shift()) {
      events.onJobBegin?.(job);
      let epochsBefore = 0;
      let last = { epoch: 0, batch: 0 };
      const onMessage = (message: WorkerMessage, current: PaperJob): void => {
        if (message.type === 'log') events.onLog?.(current, message.line);
        if (message.type === 'batch') {
          const { epoch, batch } = message.progress;
          // One-shot's fine-tuning counts its epochs from 1 again; the job's step count moves on.
          if (epoch < last.epoch || (epoch === last.epoch && batch < last.batch))
            epochsBefore = current.config.epochs;
          last = { epoch, batch };
          tracker.step(current, message.progress, epochsBefore);
          events.onBatch?.(current, message.progress, tracker.overall);
        }
        if (message.type === 'epoch') events.onEpoch?.(current, message.metrics, tracker.overall);
      };
      try {
        const origin = worker
          ? await inChild(worker, job, reuse, (m) => onMessage(m, job!))
          : await inProcess(job, reuse, (m) => onMessage(m, job!));
        tracker.finish(job);
        events.onJobEnd?.(job, origin, tracker.overall);
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, next));
  if (failure) throw failure;
}

function forwarding(send: (m: WorkerMessage) => void): TrainingRunEvents {
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
  };
}

async function inProcess(
  job: PaperJob,
  reuse: boolean,
  send: (m: WorkerMessage) => void,
): Promise<RunOrigin> {
  const { origin } = await trainOrReuse(job.config, reuse, forwarding(send));
  return origin;
}

function inChild(
  path: string,
  job: PaperJob,
  reuse: boolean,
  send: (m: WorkerMessage) => void,
): Promise<RunOrigin> {
  return new Promise((resolve, reject) => {
    const child = fork(path, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // A worker never outlives the comparison (Ctrl-C, an error): it would go on training unseen.
    const stop = () => child.kill();
    process.once('exit', stop);
    let origin: RunOrigin | undefined;
    let error: string | undefined;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') origin = m.origin;
      else if (m.type === 'error') error = m.message;
      else send(m);
    });
    child.on('exit', (code) => {
      process.removeListener('exit', stop);
      if (origin) resolve(origin);
      else
        reject(new Error(error ?? `the run ${job.config.out} stopped (exit code ${String(code)})`));
    });
    child.send({ config: job.config, reuse });
  });
}

/** The worker's side: runs one job from the parent's message, reports progress, exits. */
export function serveOneJob(): void {
  process.once('message', (message: { config: PaperJob['config']; reuse: boolean }) => {
    const send = (m: WorkerMessage) => process.send?.(m);
    trainOrReuse(message.config, message.reuse, forwarding(send))
      .then(({ origin }) => send({ type: 'done', origin }))
      .catch((e: unknown) =>
        send({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => process.disconnect?.());
  });
}
