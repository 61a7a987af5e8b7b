// The magnitude prune that GMP, one-shot and SET/RigL share: keep a layer's largest active weights, drop the rest.
import { indicesWhere, topK } from '../layers/mask-math.js';
import type { LayerView } from './algorithm.js';

/**
 * Keeps the `keep` largest-magnitude active weights of `view` (ties: the lower index) and prunes the
 * other active ones: mask and kernel set to 0. Returns the pruned positions (none when `keep` is at least
 * the number of active weights).
 */
export function pruneToLargest(view: LayerView, keep: number): Int32Array {
  const active = indicesWhere(view.mask, 1);
  if (active.length <= keep) return new Int32Array(0);
  const kept = new Uint8Array(view.size);
  for (const i of topK(active, (i) => Math.abs(view.kernel[i]!), keep)) kept[i] = 1;
  const pruned = new Int32Array(active.length - Math.max(keep, 0));
  let n = 0;
  for (const i of active) {
    if (kept[i] === 1) continue;
    view.mask[i] = 0;
    view.kernel[i] = 0;
    pruned[n++] = i;
  }
  return pruned;
}
