// toLayersModel(container, { dynamic: true }): dynamic layers masked to the stored nonzeros, which fine-tune with nnz kept.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { toLayersModel } from '../../src/convert/export.js';
import { modelToGraph } from '../../src/convert/to-graph.js';
import type { DenseMatrix, ModelGraph, WeightMatrix } from '../../src/graph/types.js';
import { DynamicConv2D, DynamicDense, maskedLayers } from '../../src/layers/index.js';
import { train } from '../../src/train/trainer.js';
import { Random } from '../../src/util/random.js';
import { sampleGraph, toDenseValues } from '../format/graphs.js';

/** Flat row-major positions of the stored entries (a CSR's entries, a dense matrix's nonzeros). */
const positions = (w: WeightMatrix): number[] =>
  Array.from(toDenseValues(w).entries())
    .filter(([, v]) => v !== 0)
    .map(([i]) => i);

const weightNodes = (g: ModelGraph) =>
  g.nodes.flatMap((n) => (n.op === 'conv2d' || n.op === 'dense' ? [n] : []));

/** sampleGraph with a dense final layer that holds two exact zeros (pruned weights of a dense-stored layer). */
function graphWithZeros(): ModelGraph {
  const rng = new Random(3);
  const values = Float32Array.from({ length: 40 }, () => rng.nextFloat() - 0.5);
  values[3] = 0;
  values[17] = 0;
  const fc: DenseMatrix = { kind: 'dense', rows: 5, cols: 8, values };
  return sampleGraph(4, { fc });
}

describe('toLayersModel with dynamic layers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('computes what the plain model computes, with masks equal to the stored patterns', () => {
    const graph = graphWithZeros();
    const dynamic = toLayersModel(graph, { dynamic: true });
    const plain = toLayersModel(graph);
    expect(dynamic.layers.filter((l) => l instanceof DynamicConv2D)).toHaveLength(2);
    expect(dynamic.layers.filter((l) => l instanceof DynamicDense)).toHaveLength(1);
    const x = tf.randomUniform([3, 9, 9, 3], 0, 1, 'float32', 5);
    const a = (dynamic.predict(x) as tf.Tensor).dataSync();
    const b = (plain.predict(x) as tf.Tensor).dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 6);
    const masked = maskedLayers(dynamic);
    for (const [l, node] of weightNodes(graph).entries())
      expect(masked[l]!.nnz).toBe(positions(node.weight).length);
    expect(masked[2]!.nnz).toBe(38);
    // Exported again, every layer has the same entries and values (the dense one becomes CSR).
    const back = modelToGraph(dynamic, { foldBatchNorm: false });
    for (const [l, node] of weightNodes(back).entries()) {
      const stored = weightNodes(graph)[l]!;
      expect(node.weight.kind).toBe('csr');
      expect(positions(node.weight)).toEqual(positions(stored.weight));
      expect(Array.from(toDenseValues(node.weight))).toEqual(
        Array.from(toDenseValues(stored.weight)),
      );
    }
    x.dispose();
    dynamic.dispose();
    plain.dispose();
  });

  it('fine-tunes with every mask fixed: nnz and positions kept, values changed, loss finite', async () => {
    const graph = graphWithZeros();
    const model = toLayersModel(graph, { dynamic: true });
    const rng = new Random(9);
    const split = (count: number) => ({
      images: Uint8Array.from({ length: count * 243 }, () => rng.nextInt(256)),
      labels: Uint8Array.from({ length: count }, () => rng.nextInt(5)),
      count,
    });
    const result = await train({
      model,
      train: split(64),
      validation: split(16),
      inputShape: [9, 9, 3],
      epochs: 2,
      batchSize: 16,
      learningRate: 0.01,
      seed: 1,
    });
    expect(result.steps).toBe(8);
    expect(Number.isFinite(result.epochs.at(-1)!.trainLoss)).toBe(true);
    const tuned = modelToGraph(model, { foldBatchNorm: false });
    for (const [l, node] of weightNodes(tuned).entries()) {
      const stored = weightNodes(graph)[l]!;
      expect(positions(node.weight)).toEqual(positions(stored.weight));
      expect(Array.from(toDenseValues(node.weight))).not.toEqual(
        Array.from(toDenseValues(stored.weight)),
      );
    }
    model.dispose();
  }, 60_000);
});
