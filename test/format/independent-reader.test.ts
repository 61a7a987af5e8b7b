// A second CSR reader, written from docs/FORMAT.md alone (not from src/format/decode.ts), rebuilds matrices.
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/format/encode.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, toDenseValues } from './graphs.js';

/** Reads the CSR section `index` of a container into a dense row-major array, following FORMAT.md. */
function readCsrSection(
  file: Uint8Array,
  index: number,
): { rows: number; cols: number; dense: Float32Array } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = 16;
  for (let s = 0; s < index; s++) {
    const length = view.getUint32(at + 4, true);
    at += 12 + length;
    at = (at + 3) & ~3;
  }
  expect(view.getUint32(at, true)).toBe(3);
  const p = at + 8;
  const rows = view.getUint32(p, true);
  const cols = view.getUint32(p + 4, true);
  const nnz = view.getUint32(p + 8, true);
  const coding = view.getUint8(p + 12);
  const valueType = view.getUint8(p + 13);
  let q = p + 16;
  const positions: number[] = [];
  if (coding === 1) {
    const m = view.getUint32(q, true);
    const length = view.getUint32(q + 4, true);
    const stream = file.subarray(q + 8, q + 8 + length);
    q += 8 + length;
    let bit = 0;
    const next = () => (stream[bit >> 3]! >> (bit++ & 7)) & 1;
    const b = Math.ceil(Math.log2(m));
    const u = 2 ** b - m;
    let previous = -1;
    for (let k = 0; k < nnz; k++) {
      let quotient = 0;
      while (next() === 1) quotient++;
      let v = 0;
      if (m > 1) {
        for (let i = 0; i < b - 1; i++) v = v * 2 + next();
        if (v >= u) v = v * 2 + next() - u;
      }
      previous = previous + quotient * m + v + 1;
      positions.push(previous);
    }
  } else {
    const rw = view.getUint8(q);
    const cw = view.getUint8(q + 1);
    q += 4;
    const readUint = (w: number) => {
      const v =
        w === 1 ? view.getUint8(q) : w === 2 ? view.getUint16(q, true) : view.getUint32(q, true);
      q += w;
      return v;
    };
    const rowPtr = Array.from({ length: rows + 1 }, () => readUint(rw));
    const colIdx = Array.from({ length: nnz }, () => readUint(cw));
    for (let r = 0; r < rows; r++)
      for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) positions.push(r * cols + colIdx[k]!);
  }
  let values: Float32Array;
  if ((valueType & 0x7f) !== 1) throw new Error('this reader handles fp32 only');
  if (valueType & 0x80) {
    const length = view.getUint32(q, true);
    const shuffled = inflateRawSync(file.subarray(q + 4, q + 4 + length));
    const plain = new Uint8Array(nnz * 4);
    for (let i = 0; i < nnz; i++)
      for (let j = 0; j < 4; j++) plain[i * 4 + j] = shuffled[j * nnz + i]!;
    values = new Float32Array(plain.buffer);
  } else {
    values = new Float32Array(file.slice(q, q + nnz * 4).buffer);
  }
  const dense = new Float32Array(rows * cols);
  positions.forEach((pos, k) => (dense[pos] = values[k]!));
  return { rows, cols, dense };
}

describe('a reader written from FORMAT.md', () => {
  it('decodes the worked example byte for byte', () => {
    const weight = {
      kind: 'csr' as const,
      rows: 2,
      cols: 4,
      rowPtr: Uint32Array.from([0, 1, 2]),
      colIdx: Uint32Array.from([1, 3]),
      values: Float32Array.from([1.5, -2]),
    };
    const graph: ModelGraph = {
      nodes: [
        { op: 'input', name: 'x', shape: [4] },
        {
          op: 'dense',
          name: 'd',
          input: 'x',
          inFeatures: 4,
          outFeatures: 2,
          weight,
          bias: null,
          activation: 'linear',
        },
      ],
      output: 'd',
      metadata: {},
    };
    const file = encodeModel(graph, { chooseSmaller: false });
    const { dense } = readCsrSection(file, 1);
    expect(Array.from(dense)).toEqual([0, 1.5, 0, 0, 0, 0, 0, -2]);
    // The section payload is exactly the bytes listed in FORMAT.md.
    let at = 16;
    at += 12 + new DataView(file.buffer).getUint32(at + 4, true);
    at = (at + 3) & ~3;
    const payload = Array.from(file.subarray(at + 8, at + 8 + 33), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join(' ');
    expect(payload).toBe(
      '02 00 00 00 04 00 00 00 02 00 00 00 01 01 00 00 02 00 00 00 01 00 00 00 2e 00 00 c0 3f 00 00 00 c0',
    );
  });

  it('rebuilds random sparse matrices from both index codings', () => {
    const rng = new Random(21);
    for (const [rows, cols, density] of [
      [16, 300, 0.1],
      [40, 27, 0.5],
      [3, 1000, 0.01],
      [10, 10, 0.9],
    ] as const) {
      const weight = randomCsr(rng, rows, cols, density);
      for (const indices of ['golomb', 'narrow'] as const) {
        const graph: ModelGraph = {
          nodes: [
            { op: 'input', name: 'x', shape: [cols] },
            {
              op: 'dense',
              name: 'd',
              input: 'x',
              inFeatures: cols,
              outFeatures: rows,
              weight,
              bias: null,
              activation: 'linear',
            },
          ],
          output: 'd',
          metadata: {},
        };
        const { dense } = readCsrSection(encodeModel(graph, { indices, chooseSmaller: false }), 1);
        expect(Array.from(dense)).toEqual(Array.from(toDenseValues(weight)));
      }
    }
  });
});
