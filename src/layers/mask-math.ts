// Typed-array helpers for masks: exact top-k by magnitude, seeded random choice, counts.
import type { Random } from '../util/random.js';

/** Number of ones in a 0/1 mask. */
export function countNonzero(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

/**
 * The `k` indices among `candidates` with the largest `score`, ties broken by the lower index, so the
 * result is exact and deterministic; NaN scores rank last. Returned in the order of `candidates`.
 * O(n) on average: a selection finds the k-th largest score, one pass takes what beats it, and only the
 * candidates that tie with it are sorted (by index). A full sort of a million RigL growth candidates was
 * most of a RigL update's time (docs/RESULTS.md §5.6).
 */
export function topK(
  candidates: Int32Array,
  score: (index: number) => number,
  k: number,
): Int32Array {
  const n = candidates.length;
  if (k >= n) return candidates.slice();
  if (k <= 0) return new Int32Array(0);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = score(candidates[i]!);
    keys[i] = s === s ? s : -Infinity;
  }
  const threshold = kthLargest(keys.slice(), k);
  let above = 0;
  const tied: number[] = [];
  for (let i = 0; i < n; i++) {
    if (keys[i]! > threshold) above++;
    else if (keys[i] === threshold) tied.push(candidates[i]!);
  }
  // The tied candidates with the lowest indices fill the places left; the last of them is `lastTied`.
  tied.sort((a, b) => a - b);
  const lastTied = tied[k - above - 1]!;
  const out = new Int32Array(k);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    if (key > threshold || (key === threshold && candidates[i]! <= lastTied)) {
      out[m++] = candidates[i]!;
    }
  }
  return out;
}

/**
 * The k-th largest of `keys` (1 ≤ k ≤ length, no NaN), by quickselect with a three-way partition, so
 * runs of equal keys (a layer full of zero gradients) cost one pass. Reorders `keys`.
 */
function kthLargest(keys: Float64Array, k: number): number {
  const target = k - 1;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    const a = keys[lo]!;
    const b = keys[(lo + hi) >>> 1]!;
    const c = keys[hi]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    // Descending: [lo, lt) > pivot, [lt, gt] == pivot, (gt, hi] < pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = keys[i]!;
      if (v > pivot) {
        keys[i++] = keys[lt]!;
        keys[lt++] = v;
      } else if (v < pivot) {
        keys[i] = keys[gt]!;
        keys[gt--] = v;
      } else {
        i++;
      }
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return pivot;
  }
  return keys[lo]!;
}

/** `k` distinct elements of `candidates`, uniformly at random (partial Fisher-Yates on a copy). */
export function randomChoice(candidates: Int32Array, k: number, rng: Random): Int32Array {
  return randomChoiceInPlace(candidates.slice(), k, rng);
}

/**
 * {@link randomChoice} that shuffles `pool` itself instead of a copy (for a caller that built the pool
 * for this call only): the same elements in the same order for the same generator state.
 */
export function randomChoiceInPlace(pool: Int32Array, k: number, rng: Random): Int32Array {
  const take = Math.min(k, pool.length);
  for (let i = 0; i < take; i++) {
    const j = i + rng.nextInt(pool.length - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.subarray(0, take);
}

/** Indices where `mask` equals `value` (1 for active weights, 0 for pruned ones). */
export function indicesWhere(mask: ArrayLike<number>, value: 0 | 1): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] !== 0 ? 1 : 0) === value) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] !== 0 ? 1 : 0) === value) out[n++] = i;
  return out;
}

/** nnz for a sparsity over `size` weights: round((1 − s) · size), the contract of setSparsity. */
export function nnzForSparsity(sparsity: number, size: number): number {
  return Math.round((1 - sparsity) * size);
}
