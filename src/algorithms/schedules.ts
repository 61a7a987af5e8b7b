// Schedules: when masks change and by how much, independent of which algorithm changes them.
import { InvalidArgumentError } from '../errors.js';

/** Decides at which steps an algorithm updates masks. `step` counts completed optimizer steps (from 1). */
export interface UpdateSchedule {
  readonly name: string;
  shouldUpdate(step: number, totalSteps: number): boolean;
  /** For the record: the period in force at `step`. */
  periodAt(step: number, totalSteps: number): number;
}

/**
 * The run length the papers' step counts are set for: 10 epochs of CIFAR-10's 50,000 images at batch 32,
 * the paper CNN's run (15,630 steps). A run at least this long uses the papers' periods as they are; a
 * shorter one scales every period down in proportion (to at least 1 step), so it updates as many times.
 */
export const REFERENCE_RUN_STEPS = 15_630;

/**
 * `period` for a run of `totalSteps`: unchanged when `referenceSteps` is undefined or the run is at least
 * that long, otherwise round(period · totalSteps / referenceSteps), at least 1.
 */
export function scaledPeriod(
  period: number,
  totalSteps: number,
  referenceSteps: number | undefined,
): number {
  if (referenceSteps === undefined) return period;
  return Math.max(1, Math.min(period, Math.round((period * totalSteps) / referenceSteps)));
}

/** How many updates `schedule` makes over a run of `totalSteps` steps. */
export function plannedUpdates(schedule: UpdateSchedule, totalSteps: number): number {
  let n = 0;
  for (let step = 1; step <= totalSteps; step++) if (schedule.shouldUpdate(step, totalSteps)) n++;
  return n;
}

const checkFraction = (v: number, what: string): number => {
  if (!(v > 0 && v <= 1)) throw new InvalidArgumentError(`${what} must be in (0, 1], got ${v}.`);
  return v;
};

/**
 * Every `period` steps, until `stopFraction` of training. With `referenceSteps`, the period is the one of a
 * run that long and shrinks in proportion for shorter runs ({@link scaledPeriod}).
 */
export class PeriodicSchedule implements UpdateSchedule {
  readonly name = 'periodic';
  constructor(
    readonly period: number,
    readonly stopFraction = 1,
    readonly referenceSteps?: number,
  ) {
    if (!Number.isInteger(period) || period <= 0) {
      throw new InvalidArgumentError(
        `The update period must be a positive integer, got ${period}.`,
      );
    }
    checkFraction(stopFraction, 'stopFraction');
  }
  shouldUpdate(step: number, totalSteps: number): boolean {
    return step % this.periodAt(step, totalSteps) === 0 && step < this.stopFraction * totalSteps;
  }
  periodAt(_step: number, totalSteps: number): number {
    return scaledPeriod(this.period, totalSteps, this.referenceSteps);
  }
}

/**
 * DSR's rewiring schedule (Mostafa & Wang 2019): the period starts at `periods[0]` and moves to the next
 * entry at each boundary (fractions of training), and rewiring stops at `stopFraction`. The paper's
 * WRN-28-2 run uses periods 100, 200, 400, 800 over 200 epochs; dynaprune spreads the same four stages
 * evenly over however many steps a run has (boundaries 1/4, 1/2, 3/4), and stops at 90% so the last
 * epochs fine-tune a fixed structure. With `referenceSteps`, runs shorter than that scale the periods
 * down in proportion, so a 300-step run rewires as often as a full one.
 */
export class DoublingSchedule implements UpdateSchedule {
  readonly name = 'doubling';
  constructor(
    readonly periods: readonly number[] = [100, 200, 400, 800],
    readonly boundaries: readonly number[] = [0.25, 0.5, 0.75],
    readonly stopFraction = 0.9,
    readonly referenceSteps?: number,
  ) {
    if (
      periods.length !== boundaries.length + 1 ||
      periods.some((p) => !Number.isInteger(p) || p <= 0)
    ) {
      throw new InvalidArgumentError(
        'DoublingSchedule needs one more period than boundaries, all positive integers.',
      );
    }
    checkFraction(stopFraction, 'stopFraction');
  }
  private stage(step: number, totalSteps: number): number {
    return this.boundaries.filter((b) => step / totalSteps >= b).length;
  }
  periodAt(step: number, totalSteps: number): number {
    return scaledPeriod(
      this.periods[this.stage(step, totalSteps)]!,
      totalSteps,
      this.referenceSteps,
    );
  }
  /** Counts each stage's period from the stage's first step, so every stage rewires on its own grid. */
  shouldUpdate(step: number, totalSteps: number): boolean {
    if (step >= this.stopFraction * totalSteps) return false;
    const stage = this.stage(step, totalSteps);
    const start = stage === 0 ? 0 : Math.ceil(this.boundaries[stage - 1]! * totalSteps);
    const since = step - start;
    return since > 0 && since % this.periodAt(step, totalSteps) === 0;
  }
}

/** The fraction of active weights SET/RigL drop at `step`: cosine decay to 0 at `stopFraction` (RigL). */
export function cosineDropFraction(
  initial: number,
  step: number,
  totalSteps: number,
  stopFraction: number,
): number {
  const end = stopFraction * totalSteps;
  if (step >= end) return 0;
  return (initial / 2) * (1 + Math.cos((Math.PI * step) / end));
}

/**
 * Zhu & Gupta's gradual pruning target (arXiv 1710.01878), the same as tfmot's PolynomialDecay with power
 * 3: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(t_end − t0))³ for t0 ≤ t ≤ t_end.
 */
export function polynomialSparsity(
  step: number,
  initialSparsity: number,
  finalSparsity: number,
  beginStep: number,
  endStep: number,
): number {
  if (step <= beginStep) return initialSparsity;
  if (step >= endStep) return finalSparsity;
  const progress = (step - beginStep) / (endStep - beginStep);
  return finalSparsity + (initialSparsity - finalSparsity) * (1 - progress) ** 3;
}
