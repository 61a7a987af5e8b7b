// RigL (Evci et al., ICML 2020, arXiv 1911.11134): SET's drop, growth where the dense gradient is largest.
import { topK } from '../layers/mask-math.js';
import type { LayerView, UpdateContext } from './algorithm.js';
import { SET, type DropAndGrowOptions } from './set.js';

/**
 * RigL: every 100 steps, drop the smallest-magnitude 30% (cosine-decayed to 0 at 75% of training) and
 * regrow the same number where |∂L/∂w| of the masked-out weights is largest, at value 0. Only the growth
 * score differs from SET.
 */
export class RigL extends SET {
  override readonly name: string = 'rigl';
  readonly usesDenseGradients = true;

  constructor(options: DropAndGrowOptions = {}) {
    super({ dropFraction: 0.3, cosineDecay: true, stopFraction: 0.75, ...options });
  }

  protected override chooseGrowth(
    view: LayerView,
    candidates: Int32Array,
    count: number,
    context: UpdateContext,
  ): Int32Array {
    const gradient = context.gradients().get(view.name);
    if (gradient === undefined) throw new Error(`RigL: no gradient for layer ${view.name}`);
    return topK(candidates, (i) => Math.abs(gradient[i]!), count);
  }
}
