// The worked example of docs/FORMAT.md, read from the page itself: every offset checked, decoded byte by byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeModel,
  decodeModelDetailed,
  describeModel,
  encodeModel,
} from '../../src/format/index.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/index.js';

/** The bytes of the "The whole file" dump: hex tokens after each offset, or a `json` line's UTF-8 text. */
function dumpFromSpec(): Uint8Array {
  const page = readFileSync(join(import.meta.dirname, '../../docs/FORMAT.md'), 'utf8');
  const section = page.slice(page.indexOf('### The whole file'));
  const block = section.slice(
    section.indexOf('```text') + 7,
    section.indexOf('```', section.indexOf('```text') + 7),
  );
  const bytes: number[] = [];
  for (const line of block.split('\n').slice(2)) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    expect(Number(match[1]), `offset of "${line.trim()}"`).toBe(bytes.length);
    const rest = match[2]!;
    if (rest.startsWith('json ')) {
      bytes.push(...new TextEncoder().encode(rest.slice(5)));
      continue;
    }
    for (const token of rest.split(/\s+/)) {
      if (!/^[0-9A-F]{2}$/.test(token)) break;
      bytes.push(parseInt(token, 16));
    }
  }
  return Uint8Array.from(bytes);
}

const graph: ModelGraph = {
  nodes: [
    { op: 'input', name: 'x', shape: [4] },
    {
      op: 'dense',
      name: 'fc',
      input: 'x',
      inFeatures: 4,
      outFeatures: 2,
      activation: 'linear',
      weight: {
        kind: 'csr',
        rows: 2,
        cols: 4,
        rowPtr: Uint32Array.from([0, 1, 2]),
        colIdx: Uint32Array.from([1, 3]),
        values: Float32Array.from([1.5, -2]),
      },
      bias: null,
    },
  ],
  output: 'fc',
  metadata: {},
};

describe('FORMAT.md worked example', () => {
  const file = dumpFromSpec();

  it('decodes the hand-written bytes to the matrix the page describes', () => {
    expect(file.length).toBe(320);
    const decoded = decodeModelDetailed(file, { name: 'FORMAT.md' });
    const fc = decoded.graph.nodes[1]!;
    if (fc.op !== 'dense' || fc.weight.kind !== 'csr')
      throw new Error('expected a CSR dense layer');
    expect(Array.from(fc.weight.rowPtr)).toEqual([0, 1, 2]);
    expect(Array.from(fc.weight.colIdx)).toEqual([1, 3]);
    expect(Array.from(fc.weight.values)).toEqual([1.5, -2]);
    expect(fc.bias).toBeNull();
    expect(decoded.sectionBytes).toEqual([256, 48]);
    expect(decoded.graph.metadata).toEqual({});
    expect(describeModel(file).layers[0]).toMatchObject({
      nnz: 2,
      size: 8,
      storage: 'csr',
      bytes: 48,
    });
  });

  it('is exactly what the encoder writes, and runs: [0, 1, 0, 1] gives [1.5, -2]', async () => {
    expect(encodeModel(graph, { chooseSmaller: false })).toEqual(file);
    const net = await createNetwork(decodeModel(file));
    expect(Array.from(net.predict(Float32Array.from([0, 1, 0, 1])))).toEqual([1.5, -2]);
  });

  it('one changed byte anywhere is refused', () => {
    for (let at = 0; at < file.length; at++) {
      const bad = file.slice();
      bad[at] = bad[at]! ^ 0x01;
      expect(() => decodeModel(bad), `byte ${at}`).toThrow();
    }
  });
});
