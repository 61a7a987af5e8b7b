// Runs the comparison's training jobs, longest first, N at once in child processes, handing freed threads on.
import type { BatchProgress, EpochMetrics } from '../train/trainer.js';
import type { RunOrigin } from './experiment.js';
import {
  childRunner,
  inProcessRunner,
  workerPath,
  type JobMessage,
  type JobRun,
  type JobRunner,
} from './job-runners.js';
import type { PaperJob } from './paper-plan.js';

export type { JobEnd, JobMessage, JobRun, JobRunner } from './job-runners.js';

/** The whole comparison's progress, after every batch of any job. */
export interface OverallProgress {
  readonly jobsDone: number;
  readonly jobs: number;
  /** Steps done over all jobs (reused runs count as done), and the total. */
  readonly steps: number;
  readonly totalSteps: number;
  /** Seconds since the jobs started. */
  readonly elapsedSeconds: number;
  /**
   * Estimated seconds left: the estimated work left ({@link PaperJob.cost}) at this session's rate of work
   * done; undefined until a step has been timed.
   */
  readonly etaSeconds: number | undefined;
}

/** A running job restarted from its checkpoint with more threads ({@link RunJobsOptions.handover}). */
export interface ThreadHandover {
  /** Its threads now, and how many of them were added. */
  readonly threads: number;
  readonly added: number;
  /** The finished jobs whose threads these were. */
  readonly freedBy: readonly PaperJob[];
  /** Epochs done when it stopped (one-shot's fine-tuning counted after its training), of `epochs`. */
  readonly epochsDone: number;
  readonly epochs: number;
}

export interface JobEvents {
  onLog?(job: PaperJob, line: string): void;
  onJobBegin?(job: PaperJob): void;
  onBatch?(job: PaperJob, progress: BatchProgress, overall: OverallProgress): void;
  onEpoch?(job: PaperJob, metrics: EpochMetrics, overall: OverallProgress): void;
  /** A job was handed more threads: it stopped at an epoch boundary and resumes on them. */
  onThreads?(job: PaperJob, handover: ThreadHandover): void;
  onJobEnd?(job: PaperJob, origin: RunOrigin, overall: OverallProgress): void;
}

export interface RunJobsOptions {
  /** Jobs trained at once (default 1). */
  readonly parallel?: number;
  /** Read back finished runs and resume interrupted ones (trainOrReuse's `reuse`). */
  readonly reuse?: boolean;
  /**
   * Once the queue is empty, give the threads of each finished job to the running job with the most
   * estimated work left that still has an epoch boundary ahead: it is asked to stop there, after that
   * epoch's checkpoint, and restarts from it with its threads and the freed ones (results do not depend on
   * the thread count, and a resumed run sees the same batches). Needs `config.threads` on the jobs and runs
   * in child processes (a process's thread count is fixed); ignored otherwise. Default false.
   */
  readonly handover?: boolean;
  /**
   * Starts each run. Default: a child process per run when `parallel` > 1 and the compiled worker exists,
   * else this process, one run after another.
   */
  readonly runner?: JobRunner;
}

/** Counts steps across jobs and turns them into an ETA, weighing each job's steps by its estimated cost. */
class Tracker {
  private readonly done = new Map<PaperJob, number>();
  private trainedCost = 0;
  private jobsDone = 0;
  private readonly started = Date.now();
  /** When the first step of this session was trained: reused runs before it do not dilute the rate. */
  private firstStepAt: number | undefined;
  constructor(private readonly jobs: readonly PaperJob[]) {}

  /** Records that `job` has done `steps` steps in all (a restarted job goes on counting from its checkpoint). */
  step(job: PaperJob, steps: number): void {
    const before = this.done.get(job) ?? 0;
    if (steps > before) {
      this.firstStepAt ??= Date.now();
      this.trainedCost += ((steps - before) * job.cost) / job.steps;
    }
    this.done.set(job, steps);
  }

  finish(job: PaperJob): void {
    this.done.set(job, job.steps);
    this.jobsDone++;
  }

  /** The share of `job`'s steps done, 0 to 1. */
  fraction(job: PaperJob): number {
    return Math.min(1, (this.done.get(job) ?? 0) / job.steps);
  }

  get overall(): OverallProgress {
    const total = this.jobs.reduce((a, j) => a + j.steps, 0);
    const steps = [...this.done.values()].reduce((a, b) => a + b, 0);
    const costLeft = this.jobs.reduce((a, j) => a + j.cost * (1 - this.fraction(j)), 0);
    const elapsed = (Date.now() - this.started) / 1000;
    const training = this.firstStepAt === undefined ? 0 : (Date.now() - this.firstStepAt) / 1000;
    const rate = this.trainedCost > 0 && training > 0 ? this.trainedCost / training : 0;
    return {
      jobsDone: this.jobsDone,
      jobs: this.jobs.length,
      steps,
      totalSteps: total,
      elapsedSeconds: elapsed,
      etaSeconds: rate > 0 ? costLeft / rate : undefined,
    };
  }
}

/** A job being trained, across its restarts. */
interface Active {
  readonly job: PaperJob;
  threads: number;
  /** Threads promised for its restart, and the jobs that freed them. */
  granted: number;
  donors: PaperJob[];
  run: JobRun | undefined;
  /** Epochs of one-shot's training once its fine-tuning has begun, and the last batch seen. */
  epochsBefore: number;
  last: { epoch: number; batch: number };
}

/** All epochs of a job: one-shot's fine-tuning follows its training. */
const epochsOf = (job: PaperJob): number =>
  job.config.epochs + (job.config.method === 'oneshot' ? (job.config.finetuneEpochs ?? 0) : 0);

/** The jobs by estimated cost, largest first (longest-processing-time-first); ties keep plan order. */
export function longestFirst(jobs: readonly PaperJob[]): PaperJob[] {
  return jobs
    .map((job, i) => ({ job, i }))
    .sort((a, b) => b.job.cost - a.job.cost || a.i - b.i)
    .map(({ job }) => job);
}

class Scheduler {
  private readonly tracker: Tracker;
  private readonly queue: PaperJob[];
  private readonly active = new Set<Active>();
  /** Threads of finished jobs not yet handed to a running one. */
  private idle = 0;
  private failure: Error | undefined;

  constructor(
    jobs: readonly PaperJob[],
    private readonly runner: JobRunner,
    private readonly reuse: boolean,
    private readonly handover: boolean,
    private readonly events: JobEvents,
  ) {
    this.tracker = new Tracker(jobs);
    this.queue = longestFirst(jobs);
  }

  async run(parallel: number): Promise<void> {
    await Promise.all(Array.from({ length: parallel }, () => this.lane()));
    if (this.failure) throw this.failure;
  }

  /** Takes jobs from the queue one after another; once it is empty, hands each job's threads on. */
  private async lane(): Promise<void> {
    for (let job = this.queue.shift(); job && !this.failure; job = this.queue.shift()) {
      const freed = await this.trainJob(job);
      if (this.queue.length === 0 && !this.failure) {
        this.idle += freed;
        this.handOver(job);
      }
    }
  }

  /** Trains one job to its end, restarting it when it stopped to take more threads; returns its threads. */
  private async trainJob(job: PaperJob): Promise<number> {
    this.events.onJobBegin?.(job);
    const active: Active = {
      job,
      threads: job.config.threads ?? 1,
      granted: 0,
      donors: [],
      run: undefined,
      epochsBefore: 0,
      last: { epoch: 0, batch: 0 },
    };
    this.active.add(active);
    try {
      for (let restarts = 0; ; restarts++) {
        const config =
          restarts === 0 ? job.config : { ...job.config, threads: active.threads, resume: true };
        active.run = this.runner(config, this.reuse && restarts === 0, (m) =>
          this.onMessage(active, m),
        );
        const end = await active.run.ended;
        if (end.state === 'finished') {
          this.tracker.finish(job);
          this.events.onJobEnd?.(job, end.origin, this.tracker.overall);
          return active.threads + active.granted;
        }
        this.restartWithGrant(active);
      }
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      return 0;
    } finally {
      this.active.delete(active);
    }
  }

  /** After a stop the scheduler asked for: the job takes the threads granted to it, and says so. */
  private restartWithGrant(active: Active): void {
    const added = active.granted;
    active.threads += added;
    active.granted = 0;
    this.events.onThreads?.(active.job, {
      threads: active.threads,
      added,
      freedBy: active.donors.splice(0),
      epochsDone: active.epochsBefore + active.last.epoch,
      epochs: epochsOf(active.job),
    });
  }

  private onMessage(active: Active, message: JobMessage): void {
    const { job } = active;
    if (message.type === 'log') this.events.onLog?.(job, message.line);
    if (message.type === 'batch') {
      const { epoch, batch, batches } = message.progress;
      const { last } = active;
      // One-shot's fine-tuning counts its epochs from 1 again; the job's step count moves on.
      if (epoch < last.epoch || (epoch === last.epoch && batch < last.batch))
        active.epochsBefore = job.config.epochs;
      active.last = { epoch, batch };
      this.tracker.step(job, (epoch - 1 + active.epochsBefore) * batches + batch);
      this.events.onBatch?.(job, message.progress, this.tracker.overall);
    }
    if (message.type === 'epoch') this.events.onEpoch?.(job, message.metrics, this.tracker.overall);
  }

  /**
   * Gives the idle threads to the running job with the most estimated work left that has an epoch boundary
   * ahead (it is not in its last epoch), and asks it to stop there; it restarts in {@link trainJob}.
   */
  private handOver(freedBy: PaperJob): void {
    if (!this.handover || this.idle === 0) return;
    const left = (a: Active) => a.job.cost * (1 - this.tracker.fraction(a.job));
    const [target] = [...this.active]
      .filter((a) => a.run !== undefined && a.job.config.threads !== undefined)
      .filter((a) => a.epochsBefore + Math.max(1, a.last.epoch) < epochsOf(a.job))
      .sort((a, b) => left(b) - left(a));
    if (target === undefined) return;
    target.granted += this.idle;
    target.donors.push(freedBy);
    this.idle = 0;
    target.run!.stop();
  }
}

/**
 * Trains every job, longest first by estimated cost: `parallel` at once, in child processes when the
 * compiled worker exists (otherwise one after another in this process, or with `runner`). With `reuse`,
 * finished runs are read back and interrupted ones resume from their last checkpoint. With `handover`,
 * threads of finished jobs go to running ones once the queue is empty. Rejects with the first job's error
 * after the running jobs end.
 */
export async function runJobs(
  jobs: readonly PaperJob[],
  options: RunJobsOptions = {},
  events: JobEvents = {},
): Promise<void> {
  const asked = Math.max(1, Math.min(options.parallel ?? 1, jobs.length));
  const worker = asked > 1 && options.runner === undefined ? workerPath() : undefined;
  const runner = options.runner ?? (worker ? childRunner(worker) : inProcessRunner);
  // One process trains one run at a time, and its backend's thread count is fixed: no handover there.
  const separate = options.runner !== undefined || worker !== undefined;
  const handover = options.handover === true && separate;
  const parallel = separate ? asked : 1;
  await new Scheduler(jobs, runner, options.reuse ?? false, handover, events).run(parallel);
}
