// Magnitude pruning of a stored graph: exact nnz per layer and globally, the largest weights kept, reversibility.
import { describe, expect, it } from 'vitest';
import type { CsrMatrix, ModelGraph, WeightMatrix } from '../../src/graph/types.js';
import { MagnitudeOrder, pruneGraph } from '../../src/graph/prune.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, sampleGraph, toDenseValues } from '../format/graphs.js';

const weightLayers = (g: ModelGraph) =>
  g.nodes.flatMap((n) => (n.op === 'conv2d' || n.op === 'dense' ? [n] : []));

const storedCount = (w: WeightMatrix): number => toDenseValues(w).filter((v) => v !== 0).length;

/** Checks the textbook CSR invariants and returns the nonzero count. */
function checkCsr(w: WeightMatrix): number {
  expect(w.kind).toBe('csr');
  const m = w as CsrMatrix;
  expect(m.rowPtr.length).toBe(m.rows + 1);
  expect(m.rowPtr[0]).toBe(0);
  for (let r = 0; r < m.rows; r++) {
    expect(m.rowPtr[r + 1]!).toBeGreaterThanOrEqual(m.rowPtr[r]!);
    for (let k = m.rowPtr[r]! + 1; k < m.rowPtr[r + 1]!; k++)
      expect(m.colIdx[k]!).toBeGreaterThan(m.colIdx[k - 1]!);
  }
  expect(m.values.length).toBe(m.rowPtr[m.rows]);
  return m.values.length;
}

/** Every kept weight equals the stored one at its position, and no dropped weight is larger than a kept one. */
function checkKeptAreLargest(
  stored: WeightMatrix,
  pruned: WeightMatrix,
): { minKept: number; maxDropped: number } {
  const before = toDenseValues(stored);
  const after = toDenseValues(pruned);
  let minKept = Infinity;
  let maxDropped = 0;
  before.forEach((v, i) => {
    if (after[i] !== 0) {
      expect(after[i]).toBe(v);
      minKept = Math.min(minKept, Math.abs(v));
    } else maxDropped = Math.max(maxDropped, Math.abs(v));
  });
  return { minKept, maxDropped };
}

describe('pruneGraph', () => {
  const graph = sampleGraph(3);

  it('gives every layer exactly round((1 - s) * size) nonzeros, keeping its largest weights', () => {
    for (const s of [0.75, 0.9, 0.95, 0.99]) {
      const pruned = pruneGraph(graph, s);
      weightLayers(pruned).forEach((node, i) => {
        const stored = weightLayers(graph)[i]!;
        const size = node.weight.rows * node.weight.cols;
        const expected = Math.min(storedCount(stored.weight), Math.round((1 - s) * size));
        if (expected === storedCount(stored.weight)) expect(node.weight).toBe(stored.weight);
        else expect(checkCsr(node.weight)).toBe(expected);
        const { minKept, maxDropped } = checkKeptAreLargest(stored.weight, node.weight);
        expect(minKept).toBeGreaterThanOrEqual(maxDropped);
      });
    }
  });

  it('prunes dense-stored weights too (the sample graph stores fc densely)', () => {
    const fc = weightLayers(pruneGraph(graph, 0.5)).find((n) => n.name === 'fc')!;
    expect(checkCsr(fc.weight)).toBe(20);
  });

  it('keeps the stored weights, the same objects, at or below the stored sparsity', () => {
    const same = pruneGraph(graph, 0);
    weightLayers(same).forEach((n, i) => expect(n.weight).toBe(weightLayers(graph)[i]!.weight));
    // Other nodes are shared as they are.
    expect(same.nodes[2]).toBe(graph.nodes[2]);
  });

  it('is reversible: any sequence of points, back at the start, gives the stored matrices', () => {
    const order = new MagnitudeOrder(graph);
    const conv1 = weightLayers(graph)[0]!;
    const stored = storedCount(conv1.weight);
    let last: WeightMatrix = conv1.weight;
    for (const nnz of [stored - 1, 3, 0, stored - 10, stored]) {
      last = order.keep('conv1', nnz, conv1.weight);
      expect(storedCount(last)).toBe(nnz);
    }
    expect(last).toBe(conv1.weight);
    // Going down and back up to the same point gives the same bits.
    const a = order.keep('conv1', 7, conv1.weight);
    order.keep('conv1', 2, conv1.weight);
    const b = order.keep('conv1', 7, conv1.weight);
    expect(b).toEqual(a);
  });

  it('global scope: exact total nnz, one magnitude threshold across layers', () => {
    for (const s of [0.8, 0.9, 0.93, 0.97]) {
      const order = new MagnitudeOrder(graph);
      const layers = order.nnz(s, 'global');
      const total = layers.reduce((a, l) => a + l.size, 0);
      const storedTotal = layers.reduce((a, l) => a + l.storedNnz, 0);
      expect(layers.reduce((a, l) => a + l.nnz, 0)).toBe(
        Math.min(storedTotal, Math.round((1 - s) * total)),
      );
      const pruned = pruneGraph(graph, s, 'global');
      let minKept = Infinity;
      let maxDropped = 0;
      weightLayers(pruned).forEach((n, i) => {
        expect(storedCount(n.weight)).toBe(layers[i]!.nnz);
        const r = checkKeptAreLargest(weightLayers(graph)[i]!.weight, n.weight);
        minKept = Math.min(minKept, r.minKept);
        maxDropped = Math.max(maxDropped, r.maxDropped);
      });
      expect(minKept).toBeGreaterThanOrEqual(maxDropped);
    }
  });

  it('global scope breaks ties at the threshold so the total stays exact', () => {
    // Two layers whose weights all have magnitude 0.5: any split of the kept ones is by the tie rule.
    const rng = new Random(5);
    const tied = (rows: number, cols: number): CsrMatrix => {
      const m = randomCsr(rng, rows, cols, 0.5);
      return { ...m, values: m.values.map((v) => (v < 0 ? -0.5 : 0.5)) };
    };
    const g = sampleGraph(4, { conv1: tied(8, 27), fc: tied(5, 8) });
    const order = new MagnitudeOrder(g);
    const layers = order.nnz(0.9, 'global');
    const total = layers.reduce((a, l) => a + l.size, 0);
    expect(layers.reduce((a, l) => a + l.nnz, 0)).toBe(Math.round(0.1 * total));
  });

  it('per-layer targets change only the named layers', () => {
    const pruned = pruneGraph(graph, { conv2: 0.95 });
    const [conv1, conv2, fc] = weightLayers(pruned);
    expect(conv1!.weight).toBe(weightLayers(graph)[0]!.weight);
    expect(fc!.weight).toBe(weightLayers(graph)[2]!.weight);
    expect(checkCsr(conv2!.weight)).toBe(Math.round(0.05 * 8 * 72));
  });

  it('refuses bad targets with typed errors that say what is valid', () => {
    expect(() => pruneGraph(graph, 1)).toThrow(/\[0, 1\)/);
    expect(() => pruneGraph(graph, -0.1)).toThrow(/\[0, 1\)/);
    expect(() => pruneGraph(graph, { nope: 0.5 })).toThrow(/conv1, conv2, fc/);
    expect(() => pruneGraph(graph, { conv1: 0.5 }, 'global')).toThrow(/scope/);
    expect(() => pruneGraph(graph, 0.5, 'sideways' as never)).toThrow(/layer, global/);
  });
});
