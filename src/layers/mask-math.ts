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
 * result is exact and deterministic. O(n log n); masks are updated rarely enough for that to be cheap.
 */
export function topK(
  candidates: Int32Array,
  score: (index: number) => number,
  k: number,
): Int32Array {
  if (k >= candidates.length) return candidates.slice();
  if (k <= 0) return new Int32Array(0);
  const keys = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) keys[i] = score(candidates[i]!);
  const order = Int32Array.from({ length: candidates.length }, (_, i) => i);
  order.sort((a, b) => keys[b]! - keys[a]! || candidates[a]! - candidates[b]!);
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) out[i] = candidates[order[i]!]!;
  return out;
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
