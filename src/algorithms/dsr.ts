// Dynamic Sparse Reparameterization (Mostafa & Wang, ICML 2019, arXiv 1902.05967): global adaptive threshold, reallocation.
import { InvalidArgumentError } from '../errors.js';
import { countNonzero, randomChoiceInPlace } from '../layers/mask-math.js';
import type { SparseAlgorithm, UpdateContext, UpdateResult } from './algorithm.js';
import { DoublingSchedule, REFERENCE_RUN_STEPS, type UpdateSchedule } from './schedules.js';

export interface DsrOptions {
  /**
   * Np: how many weights a rewiring step aims to prune. The paper uses 20,000 for WRN-28-2 (about 14% of
   * its 146k nonzeros) and 600 for LeNet-300-100; by default dynaprune takes 5% of the model's nonzeros,
   * which at a 100-step period rewires the whole budget a few times over a 10-epoch run.
   */
  readonly targetPruned?: number;
  /** The fraction of nonzeros used for Np when `targetPruned` is not given. Default 0.05. */
  readonly targetPrunedFraction?: number;
  /** The tolerance δ around Np before H moves. Default 0.1 (the paper's). */
  readonly tolerance?: number;
  /** The threshold H at the first rewiring. Default 1e-3 (the paper's). */
  readonly initialThreshold?: number;
  /**
   * When to rewire. Default: periods 100 → 200 → 400 → 800 (for a run of {@link REFERENCE_RUN_STEPS} or
   * more; shorter runs scale them down), stopping at 90% of training.
   */
  readonly schedule?: UpdateSchedule;
  /**
   * Cross-layer reallocation (default true, the paper's). false is the ablation: each layer regrows
   * exactly what it pruned, so per-layer nnz never moves and only the threshold stays global.
   */
  readonly reallocate?: boolean;
}

/**
 * DSR. Every rewiring step:
 * 1. prune, in every sparse layer, the active weights with |w| < H (one global threshold);
 * 2. with K the number pruned, halve H if K > (1 + δ)·Np, double it if K < (1 − δ)·Np;
 * 3. give the K freed weights back to the layers in proportion to each layer's surviving nonzeros,
 *    handing out rounding leftovers so that exactly K return (a layer never gets more than its free,
 *    not-just-pruned positions);
 * 4. regrow them at random zero positions, excluding those pruned in this step, with value 0.
 * The total number of nonzeros never changes, unless the layers have no free positions left to regrow
 * into; then the record carries `unregrown` and a `warning`. A layer always keeps at least one weight.
 */
export class DSR implements SparseAlgorithm {
  readonly name = 'dsr';
  readonly schedule: UpdateSchedule;
  private threshold: number;
  private readonly tolerance: number;
  private readonly targetPrunedOption: number | undefined;
  private readonly targetPrunedFraction: number;
  readonly reallocate: boolean;

  constructor(options: DsrOptions = {}) {
    this.schedule =
      options.schedule ??
      new DoublingSchedule(undefined, undefined, undefined, REFERENCE_RUN_STEPS);
    this.threshold = options.initialThreshold ?? 1e-3;
    this.tolerance = options.tolerance ?? 0.1;
    this.targetPrunedOption = options.targetPruned;
    this.targetPrunedFraction = options.targetPrunedFraction ?? 0.05;
    this.reallocate = options.reallocate ?? true;
    if (!(this.threshold > 0))
      throw new InvalidArgumentError(`DSR's initial threshold must be > 0, got ${this.threshold}.`);
    if (!(this.tolerance >= 0 && this.tolerance < 1)) {
      throw new InvalidArgumentError(`DSR's tolerance must be in [0, 1), got ${this.tolerance}.`);
    }
    if (
      this.targetPrunedOption !== undefined &&
      !(Number.isInteger(this.targetPrunedOption) && this.targetPrunedOption > 0)
    ) {
      throw new InvalidArgumentError(
        `DSR's Np must be a positive integer, got ${this.targetPrunedOption}.`,
      );
    }
  }

  /** The current global threshold H. */
  get H(): number {
    return this.threshold;
  }

  /** Np for a model with `nnz` nonzeros. */
  targetPruned(nnz: number): number {
    return this.targetPrunedOption ?? Math.max(1, Math.round(this.targetPrunedFraction * nnz));
  }

  update(context: UpdateContext): UpdateResult {
    const { layers, rng } = context;
    const threshold = this.threshold;
    // 1. Prune below the global threshold.
    const pruned: Int32Array[] = [];
    const surviving: number[] = [];
    let totalNnz = 0;
    for (const view of layers) {
      const gone: number[] = [];
      let alive = 0;
      for (let i = 0; i < view.size; i++) {
        if (view.mask[i] === 0) continue;
        if (Math.abs(view.kernel[i]!) < threshold) gone.push(i);
        else alive++;
      }
      // A layer never empties (as in the reference code): its largest weight below H stays.
      if (alive === 0 && gone.length > 0) {
        const largest = gone.reduce((a, i) =>
          Math.abs(view.kernel[i]!) > Math.abs(view.kernel[a]!) ? i : a,
        );
        gone.splice(gone.indexOf(largest), 1);
        alive = 1;
      }
      for (const i of gone) {
        view.mask[i] = 0;
        view.kernel[i] = 0;
      }
      pruned.push(Int32Array.from(gone));
      surviving.push(alive);
      totalNnz += alive + gone.length;
    }
    const prunedCount = pruned.reduce((n, p) => n + p.length, 0);
    // 2. Adapt H towards Np pruned per step.
    const np = this.targetPruned(totalNnz);
    if (prunedCount > (1 + this.tolerance) * np) this.threshold /= 2;
    else if (prunedCount < (1 - this.tolerance) * np) this.threshold *= 2;
    // 3. Reallocate the freed weights in proportion to survivors.
    const capacity = layers.map((v, l) => v.size - surviving[l]! - pruned[l]!.length);
    const grants = this.reallocate
      ? proportionalGrants(surviving, capacity, prunedCount)
      : pruned.map((p, l) => Math.min(p.length, capacity[l]!));
    // 4. Regrow at random zero positions that were not pruned just now.
    layers.forEach((view, l) => {
      if (grants[l] === 0) return;
      const chosen = randomChoiceInPlace(regrowCandidates(view.mask, pruned[l]!), grants[l]!, rng);
      for (const i of chosen) {
        view.mask[i] = 1;
        view.kernel[i] = 0;
      }
    });
    const regrownCount = grants.reduce((a, b) => a + b, 0);
    const unregrown = prunedCount - regrownCount;
    return {
      facts: {
        H: threshold,
        nextH: this.threshold,
        prunedCount,
        targetPruned: np,
        regrownCount,
        // No room to regrow everything (layers nearly dense): nnz falls, which the record must say.
        ...(unregrown > 0
          ? {
              unregrown,
              warning:
                `DSR pruned ${prunedCount} weights but found free positions for only ${regrownCount}: ` +
                `the total nnz fell by ${unregrown}, from ${totalNnz} to ${totalNnz - unregrown}. ` +
                'Use a higher sparsity or skip the nearly dense layers.',
            }
          : {}),
        reallocated: Object.fromEntries(
          layers.map((v, l) => [v.name, grants[l]! - pruned[l]!.length]),
        ),
      },
    };
  }

  getState(): Record<string, unknown> {
    return { H: this.threshold };
  }

  setState(state: Record<string, unknown>): void {
    if (typeof state['H'] === 'number') this.threshold = state['H'];
  }
}

/**
 * The zero positions of `mask` that were not pruned just now (`pruned`, whose mask entries are already
 * 0), ascending: the same list as filtering `indicesWhere(mask, 0)` by a set, in one pass without a set (a
 * layer of 590k weights made that filter the slowest part of a rewiring step).
 */
function regrowCandidates(mask: Float32Array, pruned: Int32Array): Int32Array {
  const out = new Int32Array(mask.length - countNonzero(mask) - pruned.length);
  let n = 0;
  let next = 0; // pruned is ascending
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0) continue;
    if (next < pruned.length && pruned[next] === i) {
      next++;
      continue;
    }
    out[n++] = i;
  }
  return out;
}

/**
 * Splits `total` into integer grants proportional to `weights`, each at most its `capacity`, summing to
 * exactly `total` (or to the total capacity, if that is smaller). Rounding leftovers go to the largest
 * fractional parts first.
 */
export function proportionalGrants(
  weights: readonly number[],
  capacity: readonly number[],
  total: number,
): number[] {
  const grants = new Array<number>(weights.length).fill(0);
  let remaining = Math.min(
    total,
    capacity.reduce((a, b) => a + b, 0),
  );
  const open = new Set(weights.map((_, i) => i).filter((i) => capacity[i]! > 0));
  // Each round either places everything or fills at least one layer, so this ends.
  while (remaining > 0 && open.size > 0) {
    const members = [...open];
    const weightSum = members.reduce((a, i) => a + Math.max(weights[i]!, 0), 0);
    const exact = members.map((i) =>
      weightSum > 0
        ? (remaining * Math.max(weights[i]!, 0)) / weightSum
        : remaining / members.length,
    );
    let placed = 0;
    members.forEach((i, k) => {
      const g = Math.min(Math.floor(exact[k]!), capacity[i]! - grants[i]!);
      grants[i]! += g;
      placed += g;
    });
    // Rounding leftovers: one each, largest fractional part first.
    const byFraction = members
      .map((i, k) => ({ i, fraction: exact[k]! - Math.floor(exact[k]!) }))
      .sort((a, b) => b.fraction - a.fraction || a.i - b.i);
    for (const { i } of byFraction) {
      if (placed === remaining) break;
      if (grants[i]! < capacity[i]!) {
        grants[i]!++;
        placed++;
      }
    }
    remaining -= placed;
    for (const i of members) if (grants[i]! >= capacity[i]!) open.delete(i);
  }
  return grants;
}
