// The container round-trips graphs exactly in fp32 and within bounds in fp16/int8; it picks CSR or dense storage.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import {
  decodeModel,
  describeModel,
  encodeModel,
  indexCodings,
  loadSparse,
} from '../../src/format/index.js';
import type { Conv2dNode, DenseNode, GraphNode, ModelGraph } from '../../src/graph/types.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, sampleGraph, toDenseValues } from './graphs.js';

const weights = (g: ModelGraph) =>
  g.nodes.filter((n): n is Conv2dNode | DenseNode => n.op === 'conv2d' || n.op === 'dense');

function expectSameGraph(a: ModelGraph, b: ModelGraph, tolerance = 0): void {
  expect(b.output).toBe(a.output);
  expect(b.metadata).toEqual(a.metadata);
  expect(b.nodes.map((n) => n.op)).toEqual(a.nodes.map((n) => n.op));
  a.nodes.forEach((n, i) => {
    const m = b.nodes[i]! as GraphNode & Record<string, unknown>;
    for (const [key, value] of Object.entries(n)) {
      if (value instanceof Float32Array) {
        const got = m[key] as Float32Array;
        expect(got.length).toBe(value.length);
        for (let k = 0; k < value.length; k++)
          expect(Math.abs(got[k]! - value[k]!)).toBeLessThanOrEqual(tolerance);
      } else if (key === 'weight') {
        const want = toDenseValues(value as Conv2dNode['weight']);
        const got = toDenseValues(m[key] as Conv2dNode['weight']);
        for (let k = 0; k < want.length; k++)
          expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(
            tolerance * Math.max(1, Math.abs(want[k]!)),
          );
      } else {
        expect(m[key]).toEqual(value);
      }
    }
  });
}

describe('container round trips', () => {
  it('fp32 is exact, bit for bit, with either index coding', () => {
    const graph = sampleGraph();
    for (const indices of indexCodings) {
      const back = decodeModel(encodeModel(graph, { indices }));
      expectSameGraph(graph, back, 0);
      // Bit for bit, including the CSR arrays themselves.
      const conv = back.nodes[1] as Conv2dNode;
      const orig = graph.nodes[1] as Conv2dNode;
      if (conv.weight.kind === 'csr' && orig.weight.kind === 'csr') {
        expect(Array.from(conv.weight.rowPtr)).toEqual(Array.from(orig.weight.rowPtr));
        expect(Array.from(conv.weight.colIdx)).toEqual(Array.from(orig.weight.colIdx));
        expect(new Uint32Array(conv.weight.values.buffer)).toEqual(
          new Uint32Array(orig.weight.values.buffer),
        );
      }
    }
  });

  it('fp16 and int8 stay within their rounding error', () => {
    const graph = sampleGraph(2);
    expectSameGraph(graph, decodeModel(encodeModel(graph, { values: 'fp16' })), 2 ** -11);
    const int8 = decodeModel(encodeModel(graph, { values: 'int8' }));
    weights(graph).forEach((node, i) => {
      const want = toDenseValues(node.weight);
      const got = toDenseValues(weights(int8)[i]!.weight);
      const max = Math.max(...Array.from(want, Math.abs));
      // Per-row scale = row max / 127, so the error is at most half a step of the largest row's scale.
      for (let k = 0; k < want.length; k++)
        expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(max / 254 + 1e-7);
    });
  });

  it('stores each weight the smaller way: CSR when sparse, dense when not', () => {
    const rng = new Random(3);
    const sparse = randomCsr(rng, 8, 27, 0.05);
    const full = randomCsr(rng, 5, 8, 1);
    const graph = sampleGraph(3, { conv1: sparse, fc: full });
    const report = describeModel(encodeModel(graph));
    expect(report.layers.find((l) => l.name === 'conv1')!.storage).toBe('csr');
    expect(report.layers.find((l) => l.name === 'fc')!.storage).toBe('dense');
    expectSameGraph(graph, decodeModel(encodeModel(graph)), 0);
  });

  it('handles empty rows, an all-zero layer and a fully dense layer', () => {
    const empty = {
      kind: 'csr' as const,
      rows: 8,
      cols: 27,
      rowPtr: new Uint32Array(9),
      colIdx: new Uint32Array(0),
      values: new Float32Array(0),
    };
    const rng = new Random(4);
    const gappy = randomCsr(rng, 8, 27, 0.2);
    const rowPtr = Uint32Array.from(gappy.rowPtr);
    // Empty out rows 2 and 5.
    const keep = (r: number) => r !== 2 && r !== 5;
    const colIdx: number[] = [];
    const values: number[] = [];
    const newPtr = new Uint32Array(9);
    for (let r = 0; r < 8; r++) {
      if (keep(r))
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
          colIdx.push(gappy.colIdx[k]!);
          values.push(gappy.values[k]!);
        }
      newPtr[r + 1] = colIdx.length;
    }
    const holes = {
      kind: 'csr' as const,
      rows: 8,
      cols: 27,
      rowPtr: newPtr,
      colIdx: Uint32Array.from(colIdx),
      values: Float32Array.from(values),
    };
    for (const conv1 of [empty, holes]) {
      for (const indices of indexCodings) {
        const graph = sampleGraph(5, { conv1 });
        expectSameGraph(
          graph,
          decodeModel(encodeModel(graph, { indices, chooseSmaller: false })),
          0,
        );
      }
    }
  });

  it('loads from bytes, an ArrayBuffer, a file path and a file URL', async () => {
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pathToFileURL } = await import('node:url');
    const graph = sampleGraph(6);
    const bytes = encodeModel(graph);
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-format-'));
    const path = join(dir, 'model.dpr');
    await writeFile(path, bytes);
    for (const source of [bytes, bytes.slice().buffer, path, pathToFileURL(path)]) {
      expectSameGraph(graph, await loadSparse(source), 0);
    }
    await rm(dir, { recursive: true });
  });

  it('refuses to encode a graph that is inconsistent', () => {
    const graph = sampleGraph(7);
    const broken = {
      ...graph,
      nodes: graph.nodes.map((n) => (n.name === 'conv2' ? { ...n, inChannels: 9 } : n)),
    };
    expect(() => encodeModel(broken as ModelGraph)).toThrow(ShapeMismatchError);
    const dangling = { ...graph, output: 'nowhere' };
    expect(() => encodeModel(dangling)).toThrow(InvalidArgumentError);
  });
});
