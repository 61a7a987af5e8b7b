// Per-layer shares of the nonzero budget: uniform, and Erdős–Rényi–Kernel (ERK, Evci et al. 2020, arXiv 1911.11134).
import { InvalidArgumentError, UnknownNameError } from '../errors.js';

export type DistributionName = 'uniform' | 'erk';
export const distributionNames: readonly DistributionName[] = ['uniform', 'erk'];

/** A sparse layer as the distributions see it: its name and kernel shape. */
export interface LayerShape {
  readonly name: string;
  /** Kernel dimensions, e.g. [kh, kw, in, out] for conv2d or [in, out] for dense. */
  readonly shape: readonly number[];
}

/** The number of nonzeros each layer gets. */
export interface Allocation {
  readonly name: string;
  readonly size: number;
  readonly nnz: number;
  /** 1 − nnz / size. */
  readonly sparsity: number;
}

const sizeOf = (l: LayerShape): number => l.shape.reduce((a, b) => a * b, 1);

/**
 * Rounds real per-layer targets to integers that sum exactly to `total` (largest remainder), never above
 * a layer's size.
 */
function roundToTotal(
  targets: readonly number[],
  sizes: readonly number[],
  total: number,
): number[] {
  const floors = targets.map((t, i) => Math.min(sizes[i]!, Math.floor(t)));
  let missing = total - floors.reduce((a, b) => a + b, 0);
  const order = targets
    .map((t, i) => ({ i, rest: t - Math.floor(t) }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let k = 0; missing > 0 && k < order.length * 2; k++) {
    const { i } = order[k % order.length]!;
    if (floors[i]! < sizes[i]!) {
      floors[i]!++;
      missing--;
    }
  }
  return floors;
}

/**
 * Every layer at the same sparsity: nnz = round((1 − s) · size) per layer.
 */
export function uniformDistribution(layers: readonly LayerShape[], sparsity: number): Allocation[] {
  return layers.map((l) => {
    const size = sizeOf(l);
    const nnz = Math.round((1 - sparsity) * size);
    return { name: l.name, size, nnz, sparsity: 1 - nnz / size };
  });
}

/**
 * ERK: a layer's density is proportional to (sum of its kernel dims) / (product of its kernel dims), so
 * small layers stay denser. The scale is solved so that the total nnz is exactly round((1 − s) · total);
 * a layer whose density would exceed 1 is made dense and the scale is solved again for the rest.
 */
export function erkDistribution(layers: readonly LayerShape[], sparsity: number): Allocation[] {
  const sizes = layers.map(sizeOf);
  const total = sizes.reduce((a, b) => a + b, 0);
  const budget = Math.round((1 - sparsity) * total);
  const raw = layers.map((l, i) => l.shape.reduce((a, b) => a + b, 0) / sizes[i]!);
  const dense = new Set<number>();
  let densities: number[] = [];
  for (;;) {
    const denseNnz = [...dense].reduce((a, i) => a + sizes[i]!, 0);
    const weighted = layers.reduce((a, _, i) => (dense.has(i) ? a : a + raw[i]! * sizes[i]!), 0);
    const scale = weighted > 0 ? (budget - denseNnz) / weighted : 0;
    densities = layers.map((_, i) => (dense.has(i) ? 1 : scale * raw[i]!));
    const over = densities.map((d, i) => (d > 1 && !dense.has(i) ? i : -1)).filter((i) => i >= 0);
    if (over.length === 0) break;
    for (const i of over) dense.add(i);
  }
  const nnz = roundToTotal(
    densities.map((d, i) => d * sizes[i]!),
    sizes,
    budget,
  );
  return layers.map((l, i) => ({
    name: l.name,
    size: sizes[i]!,
    nnz: nnz[i]!,
    sparsity: 1 - nnz[i]! / sizes[i]!,
  }));
}

/** Allocates nonzeros by name; throws UnknownNameError for an unknown distribution. */
export function allocate(
  distribution: string,
  layers: readonly LayerShape[],
  sparsity: number,
): Allocation[] {
  if (!(sparsity >= 0 && sparsity < 1)) {
    throw new InvalidArgumentError(`sparsity must be in [0, 1), got ${sparsity}.`);
  }
  switch (distribution) {
    case 'uniform':
      return uniformDistribution(layers, sparsity);
    case 'erk':
      return erkDistribution(layers, sparsity);
    default:
      throw new UnknownNameError('distribution', distribution, distributionNames);
  }
}
