// A network's sparsity at inference: which nnz each weight layer runs with, pruned further from the stored weights.
import {
  MagnitudeOrder,
  type PrunedLayer,
  type PruneScope,
  type SparsityTarget,
} from '../graph/prune.js';
import type { GraphNode, ModelGraph } from '../graph/types.js';

export interface SetSparsityOptions {
  /** `layer` (default): the sparsity applies to each layer alike; `global`: one magnitude threshold. */
  readonly scope?: PruneScope;
}

/**
 * Tracks the planned graph as the sparsity changes. Magnitudes come from the stored graph (the file's weights,
 * before BatchNorm folding); the values come from the planned graph at the stored sparsity, whose weight layers
 * have the same stored entries (folding scales rows only). Every point starts from the stored weights, so
 * returning to the stored sparsity gives back the stored matrices themselves.
 */
export class NetworkSparsity {
  private order: MagnitudeOrder | undefined;
  private readonly storedNodes: ReadonlyMap<string, GraphNode>;
  private nnz: Map<string, number> | undefined;
  current: ModelGraph;

  constructor(
    private readonly stored: ModelGraph,
    private readonly planned: ModelGraph,
  ) {
    this.current = planned;
    this.storedNodes = new Map(planned.nodes.map((n) => [n.name, n]));
  }

  /** Sorting the magnitudes waits for the first call: loading without a sparsity costs nothing. */
  private get magnitudes(): MagnitudeOrder {
    this.order ??= new MagnitudeOrder(this.stored);
    return this.order;
  }

  /** Each weight layer's size, stored nnz and current nnz. */
  get layers(): PrunedLayer[] {
    const stored = this.magnitudes.nnz(0);
    return stored.map((l) => ({ ...l, nnz: this.nnz?.get(l.name) ?? l.storedNnz }));
  }

  /**
   * Moves to `target`. Returns the layers at the new point and the planned graph to run, or no graph when no
   * layer's nnz changed. Only the layers whose nnz changed get new weights; the others keep their objects.
   */
  apply(
    target: SparsityTarget,
    options: SetSparsityOptions = {},
  ): { layers: PrunedLayer[]; graph?: ModelGraph; changed: string[] } {
    const layers = this.magnitudes.nnz(target, options.scope ?? 'layer');
    const before = this.layers;
    const changed = layers.filter((l, i) => l.nnz !== before[i]!.nnz);
    if (changed.length === 0) return { layers, changed: [] };
    const counts = new Map(changed.map((l) => [l.name, l.nnz]));
    this.current = {
      ...this.current,
      nodes: this.current.nodes.map((node) => {
        const nnz = counts.get(node.name);
        const original = this.storedNodes.get(node.name);
        if (nnz === undefined || !original || (original.op !== 'conv2d' && original.op !== 'dense'))
          return node;
        return {
          ...node,
          weight: this.magnitudes.keep(node.name, nnz, original.weight),
        } as GraphNode;
      }),
    };
    this.nnz = new Map(layers.map((l) => [l.name, l.nnz]));
    return { layers, graph: this.current, changed: changed.map((l) => l.name) };
  }
}
