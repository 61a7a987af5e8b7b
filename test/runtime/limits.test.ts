// The runtime's memory ceiling: a graph whose activations would exceed it fails with a typed error before
// allocating, on load and when a batch grows; long graphs load in time linear in their length, and a file's
// node count has the reader's ceiling.
import { describe, expect, it } from 'vitest';
import { MemoryLimitError } from '../../src/errors.js';
import { encodeModel } from '../../src/format/encode.js';
import type { GraphNode, ModelGraph } from '../../src/graph/types.js';
import {
  DEFAULT_MAX_MEMORY_BYTES,
  InvalidSizeError,
  createNetwork,
  loadNetwork,
} from '../../src/runtime/index.js';

/** An input of `shape` followed by `count` ReLU nodes in a chain: no weights at all. */
function reluChain(shape: number[], count: number): ModelGraph {
  const nodes: GraphNode[] = [{ op: 'input', name: 'x', shape }];
  for (let i = 0; i < count; i++)
    nodes.push({ op: 'relu', name: `r${i}`, input: i === 0 ? 'x' : `r${i - 1}` });
  return { nodes, output: `r${count - 1}`, metadata: {} };
}

describe('runtime memory ceiling', () => {
  it('refuses a small file whose activations add up past the default ceiling, before allocating', async () => {
    // Each activation is 48M floats (under the per-node cap), 24 of them are 4.5 GiB.
    const bytes = encodeModel(reluChain([4096, 4096, 3], 24));
    expect(bytes.length).toBeLessThan(4096);
    const error = await loadNetwork(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect((error as MemoryLimitError).limitBytes).toBe(DEFAULT_MAX_MEMORY_BYTES);
    expect((error as MemoryLimitError).neededBytes).toBeGreaterThan(4 * 2 ** 30);
    expect((error as Error).message).toMatch(/maxMemoryBytes/);
  });

  it('takes its ceiling from maxMemoryBytes, for both engines', async () => {
    const graph = reluChain([64, 64, 8], 8); // 9 activations of 128 KiB
    for (const engine of ['wasm-simd', 'reference'] as const) {
      await expect(createNetwork(graph, { engine, maxMemoryBytes: 2 ** 20 })).rejects.toThrow(
        MemoryLimitError,
      );
      const net = await createNetwork(graph, { engine, maxMemoryBytes: 4 * 2 ** 20 });
      const out = net.predict(new Float32Array(64 * 64 * 8).fill(-1));
      expect(out.every((v) => v === 0)).toBe(true);
    }
  });

  it('refuses a batch whose feature buffers would pass the ceiling, and keeps working after', async () => {
    const graph = reluChain([1000], 50); // 51 feature rows of 1000 floats per image
    const net = await createNetwork(graph, { engine: 'wasm-simd', maxMemoryBytes: 2 ** 22 });
    expect(() => net.predict(new Float32Array(1000 * 64), 64)).toThrow(MemoryLimitError);
    const out = net.predict(
      Float32Array.from({ length: 2000 }, (_, i) => i - 1000),
      2,
    );
    expect(out[0]).toBe(0);
    expect(out[1999]).toBe(999);
    const reference = await createNetwork(graph, { engine: 'reference', maxMemoryBytes: 2 ** 22 });
    expect(() => reference.predict(new Float32Array(1000 * 64), 64)).toThrow(MemoryLimitError);
  });

  it('loadNetwork refuses a file past the reader node ceiling and takes maxNodes to raise it', async () => {
    const bytes = encodeModel(reluChain([4], 9_000)); // 9,001 nodes, above the default 8,192
    const error = await loadNetwork(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSizeError);
    expect((error as Error).message).toMatch(/9001 nodes.*maxNodes/);
    await expect(loadNetwork(bytes, { maxTopologyBytes: 1000 })).rejects.toThrow(
      /maxTopologyBytes/,
    );
    const net = await loadNetwork(bytes, { maxNodes: 10_000 });
    expect(Array.from(net.predict(new Float32Array([1, -2, 3, -4])))).toEqual([1, 0, 3, 0]);
  });

  it('loads a 30,000-node graph (validation, rewrites and planning are linear in the node count)', async () => {
    const net = await createNetwork(reluChain([4], 30_000));
    expect(Array.from(net.predict(new Float32Array([1, -2, 3, -4])))).toEqual([1, 0, 3, 0]);
  });
});
