// Sparse Evolutionary Training (Mocanu et al. 2018, arXiv 1707.04780): drop the smallest weights, grow at random.
import { InvalidArgumentError } from '../errors.js';
import { indicesWhere, randomChoice } from '../layers/mask-math.js';
import type { LayerView, SparseAlgorithm, UpdateContext, UpdateResult } from './algorithm.js';
import { pruneToLargest } from './magnitude.js';
import {
  cosineDropFraction,
  PeriodicSchedule,
  REFERENCE_RUN_STEPS,
  type UpdateSchedule,
} from './schedules.js';

export interface DropAndGrowOptions {
  /** Fraction of each layer's active weights dropped (and regrown) per update, before decay. */
  readonly dropFraction?: number;
  /** Decay the drop fraction with a cosine to 0 at `stopFraction` of training (RigL's rule). */
  readonly cosineDecay?: boolean;
  /** Update every this many steps. */
  readonly period?: number;
  /** Stop updating at this fraction of training. */
  readonly stopFraction?: number;
  /**
   * The run length `period` is meant for; shorter runs scale it down in proportion. Default: the papers'
   * reference run ({@link REFERENCE_RUN_STEPS}) when `period` is not given, none (exact) when it is.
   */
  readonly referenceSteps?: number;
}

/**
 * SET: in every layer, drop the `dropFraction` smallest-magnitude active weights and regrow as many at
 * random zero positions (not the ones just dropped), at value 0. Per-layer nnz never changes. Subclasses
 * change only where to grow ({@link SET.chooseGrowth}), as jaxpruner's RigL does.
 */
export class SET implements SparseAlgorithm {
  readonly name: string = 'set';
  readonly schedule: UpdateSchedule;
  readonly dropFraction: number;
  readonly cosineDecay: boolean;
  protected readonly stopFraction: number;

  constructor(options: DropAndGrowOptions = {}) {
    this.dropFraction = options.dropFraction ?? 0.3;
    this.cosineDecay = options.cosineDecay ?? false;
    this.stopFraction = options.stopFraction ?? 0.75;
    if (!(this.dropFraction > 0 && this.dropFraction < 1)) {
      throw new InvalidArgumentError(`dropFraction must be in (0, 1), got ${this.dropFraction}.`);
    }
    this.schedule = new PeriodicSchedule(
      options.period ?? 100,
      this.stopFraction,
      options.referenceSteps ?? (options.period === undefined ? REFERENCE_RUN_STEPS : undefined),
    );
  }

  /** The drop fraction in force at `step`. */
  fractionAt(step: number, totalSteps: number): number {
    return this.cosineDecay
      ? cosineDropFraction(this.dropFraction, step, totalSteps, this.stopFraction)
      : this.dropFraction;
  }

  /** Where to regrow `count` weights among `candidates` (zero positions not just dropped). */
  protected chooseGrowth(
    _view: LayerView,
    candidates: Int32Array,
    count: number,
    context: UpdateContext,
  ): Int32Array {
    return randomChoice(candidates, count, context.rng);
  }

  update(context: UpdateContext): UpdateResult {
    const fraction = this.fractionAt(context.step, context.totalSteps);
    let dropped = 0;
    for (const view of context.layers) {
      const active = indicesWhere(view.mask, 1);
      // Never drop more than can regrow elsewhere (the zero positions), so per-layer nnz is unchanged.
      const count = Math.min(Math.round(fraction * active.length), view.size - active.length);
      if (count === 0) continue;
      const justDropped = pruneToLargest(view, active.length - count);
      const candidates = zerosExcept(view.mask, justDropped);
      const grown = this.chooseGrowth(view, candidates, count, context);
      for (const i of grown) {
        view.mask[i] = 1;
        view.kernel[i] = 0;
      }
      dropped += count;
    }
    return { facts: { dropFraction: fraction, droppedCount: dropped } };
  }

  getState(): Record<string, unknown> {
    return {};
  }

  setState(): void {}
}

/**
 * The zero positions of `mask`, ascending, without `excluded` (the positions just pruned, which may not
 * regrow in the same update). Two passes over a byte map: a Set and a typed-array filter over a million
 * positions were a large part of a RigL update on paper-cnn-wide (docs/RESULTS.md §5.6).
 */
function zerosExcept(mask: Float32Array, excluded: Int32Array): Int32Array {
  const blocked = new Uint8Array(mask.length);
  for (const i of excluded) blocked[i] = 1;
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0 && blocked[i] === 0) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0 && blocked[i] === 0) out[n++] = i;
  return out;
}
