// Pruning a stored graph further by weight magnitude, reversibly: every point is computed from the stored weights.
import { InvalidArgumentError } from '../errors.js';
import type { ModelGraph, WeightMatrix, CsrMatrix } from './types.js';

/**
 * How a sparsity spreads over the weight layers: `layer` gives every layer that sparsity (uniform), `global`
 * keeps the largest magnitudes of all layers together, so layers with larger weights keep more of them.
 */
export type PruneScope = 'layer' | 'global';
export const pruneScopes: readonly PruneScope[] = ['layer', 'global'];

/**
 * A sparsity target: one sparsity for every conv2d/dense layer, or sparsities by layer name (the layers not
 * named keep their stored weights). Below a layer's stored sparsity, the layer keeps its stored weights.
 */
export type SparsityTarget = number | Readonly<Record<string, number>>;

/** One prunable layer at a pruning point. */
export interface PrunedLayer {
  readonly name: string;
  /** rows × cols of the weight matrix. */
  readonly size: number;
  /** Nonzeros stored in the file. */
  readonly storedNnz: number;
  /** Nonzeros kept at this point: exactly round((1 − s) · size), or the stored count if that is fewer. */
  readonly nnz: number;
}

/** One weight layer's stored entries, ordered by magnitude. */
interface LayerEntries {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Flat positions r · cols + c of the stored nonzeros, ascending (CSR order). */
  readonly positions: Uint32Array;
  /** Entry indices by |value| descending, ties by entry index: keeping n entries keeps order[0..n). */
  readonly order: Uint32Array;
  /** |value| of order[i], descending. */
  readonly sortedMagnitudes: Float32Array;
}

const checkSparsity = (s: number, where: string): number => {
  if (!(typeof s === 'number' && s >= 0 && s < 1))
    throw new InvalidArgumentError(
      `${where} must be a sparsity in [0, 1) (the fraction of zeros), got ${String(s)}.`,
    );
  return s;
};

/** The stored nonzeros of a matrix: their flat positions and values, in row-major order. */
function storedEntries(w: WeightMatrix): { positions: Uint32Array; values: Float32Array } {
  if (w.kind === 'csr') {
    const positions = new Uint32Array(w.values.length);
    for (let r = 0; r < w.rows; r++)
      for (let k = w.rowPtr[r]!; k < w.rowPtr[r + 1]!; k++)
        positions[k] = r * w.cols + w.colIdx[k]!;
    return { positions, values: w.values };
  }
  let nnz = 0;
  for (const v of w.values) if (v !== 0) nnz++;
  const positions = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  w.values.forEach((v, i) => {
    if (v !== 0) {
      positions[k] = i;
      values[k++] = v;
    }
  });
  return { positions, values };
}

/** Entry indices below this count fit beside a float32's bits in a float64 key (31 + 21 bits < 53). */
const KEY_INDEX_LIMIT = 2 ** 21;

/**
 * Entry indices by magnitude descending, ties by index. The bits of a non-negative float32 order like its
 * value, so (maxBits − bits) · 2^21 + index is one exact float64 key: a native numeric sort, several times
 * faster than a comparator. Layers with more entries than that sort with a comparator.
 */
function magnitudeOrder(magnitudes: Float32Array): Uint32Array {
  const n = magnitudes.length;
  if (n > KEY_INDEX_LIMIT)
    return Uint32Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => magnitudes[b]! - magnitudes[a]! || a - b,
    );
  const bits = new Uint32Array(magnitudes.buffer, magnitudes.byteOffset, n);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (0x7f800000 - bits[i]!) * KEY_INDEX_LIMIT + i;
  keys.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = keys[i]! % KEY_INDEX_LIMIT;
  return order;
}

function layerEntries(name: string, w: WeightMatrix): LayerEntries {
  const { positions, values } = storedEntries(w);
  const magnitudes = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) magnitudes[i] = Math.abs(values[i]!);
  const order = magnitudeOrder(magnitudes);
  const sortedMagnitudes = new Float32Array(order.length);
  for (let i = 0; i < order.length; i++) sortedMagnitudes[i] = magnitudes[order[i]!]!;
  return { name, rows: w.rows, cols: w.cols, positions, order, sortedMagnitudes };
}

/** How many of `sorted` (descending) are greater than `t`, or equal to it with `orEqual`. */
function countAbove(sorted: Float32Array, t: number, orEqual = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! > t || (orEqual && sorted[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The magnitude order of a stored graph's conv2d and dense weights, computed once; `nnz` and `keep` then
 * prune it to any sparsity in time linear in the entries of the layers that change. Every point is taken
 * from the stored weights, never from a previous point, so any sequence of targets is reversible: at the
 * stored sparsity, `keep` returns the stored matrix itself.
 */
export class MagnitudeOrder {
  private readonly layers: readonly LayerEntries[];
  private readonly byName: ReadonlyMap<string, LayerEntries>;
  /** All layers' magnitudes, ascending: for the global threshold (built on first use). */
  private allMagnitudes: Float32Array | undefined;

  constructor(readonly graph: ModelGraph) {
    this.layers = graph.nodes.flatMap((n) =>
      n.op === 'conv2d' || n.op === 'dense' ? [layerEntries(n.name, n.weight)] : [],
    );
    this.byName = new Map(this.layers.map((l) => [l.name, l]));
  }

  /** The prunable layers' names, in graph order. */
  get layerNames(): string[] {
    return this.layers.map((l) => l.name);
  }

  /** Each prunable layer's nnz at `target` (exact counts; see {@link PrunedLayer.nnz}). */
  nnz(target: SparsityTarget, scope: PruneScope = 'layer'): PrunedLayer[] {
    if (!pruneScopes.includes(scope))
      throw new InvalidArgumentError(
        `The pruning scope must be one of ${pruneScopes.join(', ')}, got "${String(scope)}".`,
      );
    const counts =
      typeof target === 'number'
        ? scope === 'global'
          ? this.globalCounts(checkSparsity(target, 'The global sparsity'))
          : this.layers.map((l) =>
              Math.round((1 - checkSparsity(target, 'The sparsity')) * l.rows * l.cols),
            )
        : this.namedCounts(target, scope);
    return this.layers.map((l, i) => ({
      name: l.name,
      size: l.rows * l.cols,
      storedNnz: l.order.length,
      nnz: Math.min(counts[i]!, l.order.length),
    }));
  }

  private namedCounts(target: Readonly<Record<string, number>>, scope: PruneScope): number[] {
    if (scope === 'global')
      throw new InvalidArgumentError(
        'Per-layer sparsities set each layer on its own; use scope "layer" with them, or one number with "global".',
      );
    for (const name of Object.keys(target)) {
      if (!this.byName.has(name))
        throw new InvalidArgumentError(
          `No conv2d or dense layer is named "${name}"; the prunable layers are ${this.layerNames.join(', ')}.`,
        );
    }
    return this.layers.map((l) => {
      const s = target[l.name];
      return s === undefined
        ? l.order.length
        : Math.round((1 - checkSparsity(s, `The sparsity of "${l.name}"`)) * l.rows * l.cols);
    });
  }

  /** Keeps the K = round((1 − s) · total size) largest magnitudes of all layers; ties go to earlier layers. */
  private globalCounts(s: number): number[] {
    const total = this.layers.reduce((a, l) => a + l.rows * l.cols, 0);
    const stored = this.layers.reduce((a, l) => a + l.order.length, 0);
    const keep = Math.round((1 - s) * total);
    if (keep >= stored) return this.layers.map((l) => l.order.length);
    if (keep === 0) return this.layers.map(() => 0);
    if (!this.allMagnitudes) {
      this.allMagnitudes = new Float32Array(stored);
      let at = 0;
      for (const l of this.layers) {
        this.allMagnitudes.set(l.sortedMagnitudes, at);
        at += l.order.length;
      }
      this.allMagnitudes.sort();
    }
    const threshold = this.allMagnitudes[stored - keep]!;
    const above = this.layers.map((l) => countAbove(l.sortedMagnitudes, threshold));
    let ties = keep - above.reduce((a, b) => a + b, 0);
    return this.layers.map((l, i) => {
      const tied = countAbove(l.sortedMagnitudes, threshold, true) - above[i]!;
      const taken = Math.min(ties, tied);
      ties -= taken;
      return above[i]! + taken;
    });
  }

  /**
   * Layer `name` keeping its `nnz` largest stored weights, as CSR, with values taken from `values` (the
   * stored matrix by default, or one with the same stored structure, such as the layer after BatchNorm
   * folding, which only scales rows). At the stored nnz, returns `values` itself: bit-identical.
   */
  keep(name: string, nnz: number, values: WeightMatrix): WeightMatrix {
    const l = this.byName.get(name);
    if (!l)
      throw new InvalidArgumentError(
        `No conv2d or dense layer is named "${name}"; the prunable layers are ${this.layerNames.join(', ')}.`,
      );
    if (values.rows !== l.rows || values.cols !== l.cols)
      throw new InvalidArgumentError(
        `Layer "${name}" is ${l.rows}x${l.cols} in the stored graph, but the weights given are ${values.rows}x${values.cols}.`,
      );
    if (values.kind === 'csr' && values.values.length !== l.order.length)
      throw new InvalidArgumentError(
        `Layer "${name}" stores ${l.order.length} nonzeros, but the CSR weights given have ${values.values.length}.`,
      );
    if (!(Number.isInteger(nnz) && nnz >= 0 && nnz <= l.order.length))
      throw new InvalidArgumentError(
        `Layer "${name}" can keep 0 to ${l.order.length} weights, not ${nnz}.`,
      );
    if (nnz === l.order.length) return values;
    const kept = new Uint8Array(l.order.length);
    for (let i = 0; i < nnz; i++) kept[l.order[i]!] = 1;
    const rowPtr = new Uint32Array(l.rows + 1);
    const colIdx = new Uint32Array(nnz);
    const out = new Float32Array(nnz);
    let k = 0;
    for (let e = 0; e < kept.length; e++) {
      if (!kept[e]) continue;
      const position = l.positions[e]!;
      const row = Math.floor(position / l.cols);
      colIdx[k] = position - row * l.cols;
      out[k++] = values.kind === 'csr' ? values.values[e]! : values.values[position]!;
      rowPtr[row + 1]!++;
    }
    for (let r = 0; r < l.rows; r++) rowPtr[r + 1]! += rowPtr[r]!;
    const csr: CsrMatrix = { kind: 'csr', rows: l.rows, cols: l.cols, rowPtr, colIdx, values: out };
    return csr;
  }
}

/**
 * `graph` pruned further by magnitude to `target`: conv2d and dense weights keep their largest stored
 * magnitudes (per layer, or globally with scope `global`); every other node, and every layer left at its stored
 * sparsity, is shared with `graph` unchanged. For repeated targets on one graph, keep a {@link MagnitudeOrder}.
 */
export function pruneGraph(
  graph: ModelGraph,
  target: SparsityTarget,
  scope: PruneScope = 'layer',
): ModelGraph {
  const order = new MagnitudeOrder(graph);
  const counts = new Map(order.nnz(target, scope).map((l) => [l.name, l.nnz]));
  return {
    ...graph,
    nodes: graph.nodes.map((n) =>
      n.op === 'conv2d' || n.op === 'dense'
        ? { ...n, weight: order.keep(n.name, counts.get(n.name)!, n.weight) }
        : n,
    ),
  };
}
