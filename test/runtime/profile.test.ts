// Network.profile: per-node timings of the planned graph, after BatchNorm folding and ReLU fusion.
import { describe, expect, it } from 'vitest';
import type { ModelGraph } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/index.js';

const graph: ModelGraph = {
  nodes: [
    { op: 'input', name: 'x', shape: [6, 6, 2] },
    {
      op: 'conv2d',
      name: 'conv',
      input: 'x',
      inChannels: 2,
      outChannels: 3,
      kernelSize: [3, 3],
      strides: [1, 1],
      padding: 'same',
      weight: { kind: 'dense', rows: 3, cols: 18, values: new Float32Array(54).fill(0.1) },
      bias: new Float32Array([0.5, -8, 0]),
      activation: 'linear',
    },
    {
      op: 'batchNorm',
      name: 'bn',
      input: 'conv',
      gamma: new Float32Array([1, 2, 3]),
      beta: new Float32Array([0, 0.5, -1]),
      movingMean: new Float32Array([0.1, 0.2, 0.3]),
      movingVariance: new Float32Array([1, 1, 1]),
      epsilon: 1e-3,
    },
    { op: 'relu', name: 'act', input: 'bn' },
    {
      op: 'maxPool',
      name: 'pool',
      input: 'act',
      poolSize: [2, 2],
      strides: [2, 2],
      padding: 'valid',
    },
    { op: 'flatten', name: 'flat', input: 'pool' },
    {
      op: 'dense',
      name: 'fc',
      input: 'flat',
      inFeatures: 27,
      outFeatures: 4,
      weight: { kind: 'dense', rows: 4, cols: 27, values: new Float32Array(108).fill(-0.05) },
      bias: null,
      activation: 'softmax',
    },
  ],
  output: 'fc',
  metadata: {},
};

describe('Network.profile', () => {
  it('reports every planned node once, with the same outputs as predict', async () => {
    const net = await createNetwork(graph);
    // BatchNorm folded into the conv and the ReLU fused into it: conv, pool, flatten, fc remain.
    expect(net.graph.nodes.map((n) => n.op)).toEqual([
      'input',
      'conv2d',
      'maxPool',
      'flatten',
      'dense',
    ]);
    const conv = net.graph.nodes[1]!;
    expect(conv.op === 'conv2d' && conv.activation).toBe('relu');
    const input = Float32Array.from({ length: 2 * 72 }, (_, i) => Math.sin(i));
    const profile = net.profile(input, 2);
    expect(profile.nodes.map((n) => n.name)).toEqual(['conv', 'pool', 'flat', 'fc']);
    for (const node of profile.nodes) expect(node.ms).toBeGreaterThanOrEqual(0);
    const summed = profile.nodes.reduce((a, n) => a + n.ms, 0);
    expect(summed).toBeLessThanOrEqual(profile.totalMs + 1e-9);
    const reference = await createNetwork(graph, { engine: 'reference' });
    const want = reference.predict(input, 2);
    const got = net.predict(input, 2);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it('checks its input like predict', async () => {
    const net = await createNetwork(graph);
    expect(() => net.profile(new Float32Array(5), 1)).toThrow(/72 floats/);
  });
});
