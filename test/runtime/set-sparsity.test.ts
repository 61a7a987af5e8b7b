// Sparsity at inference: setSparsity prunes further from the stored weights, exactly and reversibly, on both
// engines, and agrees with pruning the stored graph before loading it.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeModel } from '../../src/format/encode.js';
import type { ModelGraph, WeightMatrix } from '../../src/graph/types.js';
import {
  createNetwork,
  loadNetwork,
  measureAccuracy,
  pruneGraph,
} from '../../src/runtime/index.js';
import { Random } from '../../src/util/random.js';
import { sampleGraph, toDenseValues } from '../format/graphs.js';

const nonzeros = (w: WeightMatrix): number => toDenseValues(w).filter((v) => v !== 0).length;

function plannedNnz(graph: ModelGraph): Record<string, number> {
  return Object.fromEntries(
    graph.nodes.flatMap((n) =>
      n.op === 'conv2d' || n.op === 'dense' ? [[n.name, nonzeros(n.weight)]] : [],
    ),
  );
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer.slice(0));

describe('Network.setSparsity', () => {
  // conv (with BatchNorm folded into it), a residual conv, and a dense layer stored densely.
  const graph = sampleGraph(11);
  const rng = new Random(3);
  const batch = 12;
  const images = Float32Array.from({ length: batch * 9 * 9 * 3 }, () => rng.nextFloat());

  for (const engine of ['wasm-simd', 'reference'] as const) {
    it(`${engine}: up and back down restores bit-identical outputs; nnz exact at every point`, async () => {
      const net = await createNetwork(graph, { engine });
      const stored = net.predict(images, batch);
      const storedPredictions = measureAccuracy(net, images, new Uint8Array(batch), batch);
      const path: [number, 'layer' | 'global'][] = [
        [0.8, 'layer'],
        [0.95, 'layer'],
        [0.99, 'layer'],
        [0.9, 'global'],
        [0.5, 'layer'],
        [0, 'layer'],
      ];
      for (const [s, scope] of path) {
        const layers = net.setSparsity(s, { scope });
        const planned = plannedNnz(net.graph);
        for (const l of layers) {
          expect(planned[l.name]).toBe(l.nnz);
          if (scope === 'layer')
            expect(l.nnz).toBe(Math.min(l.storedNnz, Math.round((1 - s) * l.size)));
        }
        if (scope === 'global') {
          const size = layers.reduce((a, l) => a + l.size, 0);
          expect(layers.reduce((a, l) => a + l.nnz, 0)).toBe(Math.round((1 - s) * size));
        }
        expect(net.layerSparsity.map((l) => l.nnz)).toEqual(layers.map((l) => l.nnz));
        const out = net.predict(images, batch);
        if (s >= 0.9) expect(bits(out)).not.toEqual(bits(stored));
      }
      // Back at the stored weights: the very same outputs, so the same accuracy.
      expect(bits(net.predict(images, batch))).toEqual(bits(stored));
      const again = measureAccuracy(net, images, new Uint8Array(batch), batch);
      expect(again.predictions).toEqual(storedPredictions.predictions);
      expect(again.accuracy).toBe(storedPredictions.accuracy);
    });
  }

  it('matches pruning the stored graph before loading it (BatchNorm folded either way)', async () => {
    for (const [s, scope] of [
      [0.9, 'layer'],
      [0.97, 'global'],
    ] as const) {
      const live = await createNetwork(graph);
      live.setSparsity(s, { scope });
      const ahead = await createNetwork(pruneGraph(graph, s, scope));
      expect(bits(live.predict(images, batch))).toEqual(bits(ahead.predict(images, batch)));
    }
  });

  it('loadNetwork(source, { sparsity }) starts at that point; per-layer targets by name', async () => {
    const bytes = encodeModel(graph);
    const loaded = await loadNetwork(bytes, { sparsity: 0.95 });
    const live = await createNetwork(graph);
    live.setSparsity(0.95);
    expect(bits(loaded.predict(images, batch))).toEqual(bits(live.predict(images, batch)));
    const named = await loadNetwork(bytes, { sparsity: { conv2: 0.98 } });
    const layers = named.layerSparsity;
    expect(layers.find((l) => l.name === 'conv2')!.nnz).toBe(Math.round(0.02 * 8 * 72));
    for (const l of layers.filter((l) => l.name !== 'conv2')) expect(l.nnz).toBe(l.storedNnz);
  });

  it('refuses a sparsity outside [0, 1) with a typed error, leaving the network as it was', async () => {
    const net = await createNetwork(graph);
    net.setSparsity(0.9);
    const before = bits(net.predict(images, batch));
    expect(() => net.setSparsity(1)).toThrow(InvalidArgumentError);
    expect(() => net.setSparsity(Number.NaN)).toThrow(/\[0, 1\)/);
    expect(bits(net.predict(images, batch))).toEqual(before);
    await expect(createNetwork(graph, { sparsity: 1.5 })).rejects.toThrow(InvalidArgumentError);
  });
});
