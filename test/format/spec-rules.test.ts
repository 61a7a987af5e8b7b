// Each reader rule of docs/FORMAT.md ("Reader rules" and "Limits") as a file that the reader must refuse or accept.
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import {
  DEFAULT_MAX_NODES,
  DEFAULT_MAX_TOPOLOGY_BYTES,
  InvalidModelError,
  InvalidSizeError,
  NonFiniteValueError,
  TruncatedFileError,
  decodeModel,
  decodeModelDetailed,
  describeModel,
  encodeModel,
} from '../../src/format/index.js';
import {
  buildContainer,
  fixChecksums,
  fp32Vector,
  sectionOffset,
  splitContainer,
  u32s,
  type CraftSection,
} from './craft.js';
import { sampleGraph } from './graphs.js';

const good = encodeModel(sampleGraph(21));

/** A one-layer model: input [cols] → dense [rows x cols] stored in `weight`, no bias. */
function oneLayer(rows: number, cols: number, weight: CraftSection, bias: unknown = null) {
  const topology = {
    format: 'dynaprune-csr',
    valuePrecision: 'fp32',
    nodes: [
      { op: 'input', name: 'x', shape: [cols] },
      {
        op: 'dense',
        name: 'fc',
        input: 'x',
        inFeatures: cols,
        outFeatures: rows,
        weight: 1,
        bias,
        activation: 'linear',
      },
    ],
    output: 'fc',
  };
  return { topology, sections: [weight] };
}

/** A CSR section payload: header fields, then the raw index and value blocks. */
function csrPayload(
  head: {
    rows: number;
    cols: number;
    nnz: number;
    coding: number;
    type: number;
    reserved?: number;
  },
  rest: readonly number[],
): CraftSection {
  const bytes = [
    ...u32s(head.rows, head.cols, head.nnz),
    head.coding,
    head.type,
    head.reserved ?? 0,
    0,
    ...rest,
  ];
  return { kind: 3, payload: Uint8Array.from(bytes) };
}

const f32 = (...values: number[]): number[] =>
  Array.from(new Uint8Array(Float32Array.from(values).buffer));

/** The worked example's matrix [[0, 1.5, 0, 0], [0, 0, 0, -2]] with Golomb m = 2 (stream 0x2E). */
const exampleCsr = (stream: number[] = [0x2e], values = f32(1.5, -2)) =>
  csrPayload({ rows: 2, cols: 4, nnz: 2, coding: 1, type: 1 }, [
    ...u32s(2, stream.length),
    ...stream,
    ...values,
  ]);

const build = (parts: { topology: unknown; sections: CraftSection[] }) =>
  buildContainer(parts.topology, parts.sections);

describe('FORMAT.md reader rules', () => {
  it('the hand-made one-layer file decodes (the base the other cases edit)', () => {
    const graph = decodeModel(build(oneLayer(2, 4, exampleCsr())));
    const fc = graph.nodes[1]!;
    expect(fc.op === 'dense' && fc.weight.kind === 'csr' && Array.from(fc.weight.colIdx)).toEqual([
      1, 3,
    ]);
    expect(graph.metadata).toEqual({});
  });

  it('header flags, reserved fields and padding must be zero', () => {
    const flags = good.slice();
    flags[6] = 1;
    expect(() => decodeModel(fixChecksums(flags))).toThrow(/flags must be 0/);
    const padded = build(oneLayer(2, 4, exampleCsr()));
    // The topology's padding: the byte after its CRC, when the payload length is not a multiple of 4.
    const topologyLength = new DataView(padded.buffer).getUint32(20, true);
    expect(topologyLength % 4).not.toBe(0);
    const pad = padded.slice();
    pad[16 + 12 + topologyLength] = 7;
    expect(() => decodeModel(pad)).toThrow(/padding bytes must be 0/);
    expect(() =>
      decodeModel(
        build(
          oneLayer(
            2,
            4,
            csrPayload({ rows: 2, cols: 4, nnz: 0, coding: 1, type: 1, reserved: 1 }, u32s(1, 0)),
          ),
        ),
      ),
    ).toThrow(/reserved field/);
    const bias = fp32Vector([1, 2]);
    bias.payload[2] = 9;
    const withBias = oneLayer(2, 4, exampleCsr(), 2);
    expect(() =>
      decodeModel(build({ ...withBias, sections: [...withBias.sections, bias] })),
    ).toThrow(/reserved field/);
    const narrow = csrPayload(
      { rows: 2, cols: 4, nnz: 0, coding: 2, type: 1 },
      [1, 1, 5, 0, 0, 0, 0],
    );
    expect(() => decodeModel(build(oneLayer(2, 4, narrow)))).toThrow(/reserved field/);
  });

  it('a file that ends inside the last section padding is truncated', () => {
    const file = build(oneLayer(2, 4, exampleCsr()));
    expect(file.length % 4).toBe(0);
    const lastLength = new DataView(file.buffer).getUint32(sectionOffset(file, 1) + 4, true);
    expect(lastLength % 4).not.toBe(0);
    expect(() => decodeModel(file.subarray(0, file.length - 1))).toThrow(TruncatedFileError);
  });

  it('the Golomb stream holds the codes and at most 7 zero padding bits', () => {
    expect(() => decodeModel(build(oneLayer(2, 4, exampleCsr([0x2e, 0x00]))))).toThrow(
      /bits after the last code/,
    );
    expect(() => decodeModel(build(oneLayer(2, 4, exampleCsr([0x6e]))))).toThrow(
      /bits after the last code/,
    );
  });

  it('Golomb m outside 1..2^24 and an entry past the end of the matrix are refused', () => {
    const m = (param: number) =>
      csrPayload({ rows: 2, cols: 4, nnz: 2, coding: 1, type: 1 }, [
        ...u32s(param, 1),
        0x2e,
        ...f32(1.5, -2),
      ]);
    expect(() => decodeModel(build(oneLayer(2, 4, m(0))))).toThrow(/Golomb parameter/);
    expect(() => decodeModel(build(oneLayer(2, 4, m(2 ** 24 + 1))))).toThrow(/Golomb parameter/);
    // Gaps 1 and 7 (bits 0 1 | 1 1 1 0 1 = 0x5E): the second entry lands at 9, outside 2x4.
    expect(() => decodeModel(build(oneLayer(2, 4, exampleCsr([0x5e]))))).toThrow(CorruptFileError);
  });

  it('a deflated block must inflate to exactly n·w bytes: fewer and more are both refused', () => {
    const deflated = (plain: Uint8Array) => {
      const packed = deflateRawSync(plain);
      return csrPayload({ rows: 2, cols: 4, nnz: 2, coding: 1, type: 0x81 }, [
        ...u32s(2, 1),
        0x2e,
        ...u32s(packed.length),
        ...packed,
      ]);
    };
    // Shuffled fp32 bytes of [1.5, -2]: all first bytes, then second, third, fourth.
    const shuffled = Uint8Array.from([0, 0, 0, 0, 0xc0, 0, 0x3f, 0xc0]);
    expect(decodeModel(build(oneLayer(2, 4, deflated(shuffled)))).nodes.length).toBe(2);
    expect(() => decodeModel(build(oneLayer(2, 4, deflated(shuffled.subarray(0, 7)))))).toThrow(
      /inflate to 7 bytes, expected exactly 8/,
    );
    const longer = new Uint8Array(9);
    longer.set(shuffled);
    expect(() => decodeModel(build(oneLayer(2, 4, deflated(longer))))).toThrow(
      /inflate to more bytes, expected exactly 8/,
    );
  });

  it('bytes after the end of a DEFLATE stream, inside deflatedLength, are ignored', () => {
    const packed = deflateRawSync(Uint8Array.from([0, 0, 0, 0, 0xc0, 0, 0x3f, 0xc0]));
    const withTail = [...packed, 0xde, 0xad];
    const payload = csrPayload({ rows: 2, cols: 4, nnz: 2, coding: 1, type: 0x81 }, [
      ...u32s(2, 1),
      0x2e,
      ...u32s(withTail.length),
      ...withTail,
    ]);
    const fc = decodeModel(build(oneLayer(2, 4, payload))).nodes[1]!;
    expect(fc.op === 'dense' && Array.from(fc.weight.values)).toEqual([1.5, -2]);
  });

  it('sizes are checked before allocating: dims past 2^31, rows past the element ceiling', () => {
    const denseHuge = Uint8Array.from([
      0x81,
      2,
      0,
      0,
      ...u32s(2 ** 16, 2 ** 15 + 1, 4),
      0,
      0,
      0,
      0,
    ]);
    expect(() =>
      decodeModel(build(oneLayer(2 ** 16, 2 ** 15 + 1, { kind: 2, payload: denseHuge }))),
    ).toThrow(InvalidSizeError);
    // 2^30 elements claimed by a 4-byte deflate stream: refused by DEFLATE's maximum ratio.
    const deflatedBig = Uint8Array.from([
      0x81,
      2,
      0,
      0,
      ...u32s(2 ** 15, 2 ** 15),
      ...u32s(4),
      1,
      2,
      3,
      4,
    ]);
    expect(() =>
      decodeModel(build(oneLayer(2 ** 15, 2 ** 15, { kind: 2, payload: deflatedBig }))),
    ).toThrow(/cannot inflate/);
    // rows = 2^28, cols = 1, no nonzeros: a rowPtr of 1 GiB; refused by the ceiling, not by running out of memory.
    const tall = csrPayload({ rows: 2 ** 28, cols: 1, nnz: 0, coding: 1, type: 1 }, u32s(1, 0));
    expect(() => decodeModel(build(oneLayer(2 ** 28, 1, tall)))).toThrow(/ceiling/);
    // A narrow rowPtr is checked against the bytes present first.
    const narrowTall = csrPayload(
      { rows: 2 ** 20, cols: 1, nnz: 0, coding: 2, type: 1 },
      [4, 1, 0, 0],
    );
    expect(() => decodeModel(build(oneLayer(2 ** 20, 1, narrowTall)))).toThrow(TruncatedFileError);
  });

  it('maxElements is a per-file ceiling the caller can lower or raise', () => {
    expect(() => decodeModel(good, { maxElements: 100 })).toThrow(/ceiling of 100/);
    expect(decodeModel(good, { maxElements: 10_000 }).nodes.length).toBeGreaterThan(0);
    const file = build(oneLayer(2, 4, exampleCsr()));
    // rowPtr 3 + colIdx 2 + values 2 = 7 elements.
    expect(decodeModel(file, { maxElements: 7 }).nodes.length).toBe(2);
    expect(() => decodeModel(file, { maxElements: 6 })).toThrow(InvalidSizeError);
  });

  it('the topology has ceilings on its bytes (before parsing) and its node count (before reading nodes)', () => {
    /** The one-layer file with `relus` ReLU nodes chained after the dense layer. */
    const chain = (relus: number) => {
      const parts = oneLayer(2, 4, exampleCsr());
      let previous = 'fc';
      for (let i = 0; i < relus; i++) {
        parts.topology.nodes.push({ op: 'relu', name: `r${i}`, input: previous } as never);
        previous = `r${i}`;
      }
      parts.topology.output = previous;
      return build(parts);
    };
    const small = chain(100);
    expect(decodeModel(small, { maxNodes: 102 }).nodes.length).toBe(102);
    expect(() => decodeModel(small, { maxNodes: 101 })).toThrow(InvalidSizeError);
    expect(() => decodeModel(small, { maxNodes: 101 })).toThrow(
      /102 nodes.*ceiling of 101.*maxNodes/,
    );
    // The default, 8,192 nodes: one past it is refused, and raising maxNodes accepts the file.
    expect(decodeModel(chain(DEFAULT_MAX_NODES - 2)).nodes.length).toBe(DEFAULT_MAX_NODES);
    const deep = chain(DEFAULT_MAX_NODES - 1);
    expect(() => decodeModel(deep)).toThrow(/ceiling of 8192/);
    expect(decodeModel(deep, { maxNodes: 10_000 }).nodes.length).toBe(DEFAULT_MAX_NODES + 1);
    // The byte ceiling is checked before the text is parsed: text that is not even JSON is refused for its
    // length (InvalidSizeError), not for its syntax (InvalidModelError), once it passes the ceiling.
    const sections = [exampleCsr()];
    const notJson = (bytes: number) => buildContainer('x'.repeat(bytes), sections);
    expect(() => decodeModel(notJson(DEFAULT_MAX_TOPOLOGY_BYTES))).toThrow(InvalidModelError);
    expect(() => decodeModel(notJson(DEFAULT_MAX_TOPOLOGY_BYTES + 1))).toThrow(InvalidSizeError);
    expect(() => decodeModel(notJson(DEFAULT_MAX_TOPOLOGY_BYTES + 1))).toThrow(/maxTopologyBytes/);
    const text = splitContainer(small).topology;
    const length = new TextEncoder().encode(JSON.stringify(text)).length;
    expect(() => decodeModel(small, { maxTopologyBytes: length - 1 })).toThrow(InvalidSizeError);
    expect(decodeModel(small, { maxTopologyBytes: length }).nodes.length).toBe(102);
    // describeModel and the runtime's loadNetwork pass the ceilings on.
    expect(() => describeModel(small, undefined, { maxNodes: 50 })).toThrow(/ceiling of 50/);
  });

  it('non-finite weights are refused unless allowNonFinite', () => {
    const file = build(oneLayer(2, 4, exampleCsr(undefined, f32(1.5, NaN))));
    expect(() => decodeModel(file)).toThrow(NonFiniteValueError);
    expect(() => decodeModel(file)).toThrow(/value 1 is NaN/);
    const fc = decodeModel(file, { allowNonFinite: true }).nodes[1]!;
    expect(fc.op === 'dense' && Number.isNaN(fc.weight.values[1])).toBe(true);
    expect(() => encodeModel(decodeModel(file, { allowNonFinite: true }))).toThrow(/NaN/);
    expect(() => encodeModel(sampleGraph(21), { values: 'fp16' })).not.toThrow();
  });

  it('vectors are fp32 (plain 0x01 or deflated 0x81); a weight is rank 2; bias is required', () => {
    const withBias = (bias: CraftSection) => {
      const parts = oneLayer(2, 4, exampleCsr(), 2);
      return build({ ...parts, sections: [...parts.sections, bias] });
    };
    expect(decodeModel(withBias(fp32Vector([1, 2]))).nodes.length).toBe(2);
    const packed = deflateRawSync(Uint8Array.from([0, 0, 0, 0, 0x80, 0, 0x3f, 0x40]));
    const deflatedBias = {
      kind: 2,
      payload: Uint8Array.from([0x81, 1, 0, 0, ...u32s(2, packed.length), ...packed]),
    };
    const fc = decodeModel(withBias(deflatedBias)).nodes[1]!;
    expect(fc.op === 'dense' && Array.from(fc.bias!)).toEqual([1, 2]);
    const fp16Bias = {
      kind: 2,
      payload: Uint8Array.from([0x02, 1, 0, 0, ...u32s(2), 0, 0x3c, 0, 0x40]),
    };
    expect(() => decodeModel(withBias(fp16Bias))).toThrow(/must be an fp32 vector/);
    const rank4 = {
      kind: 2,
      payload: Uint8Array.from([
        0x01,
        4,
        0,
        0,
        ...u32s(2, 1, 2, 2),
        ...f32(0, 1.5, 0, 0, 0, 0, 0, -2),
      ]),
    };
    expect(() => decodeModel(build(oneLayer(2, 4, rank4)))).toThrow(/rank-2 matrix/);
    const noBias = oneLayer(2, 4, exampleCsr());
    delete (noBias.topology.nodes[1] as Record<string, unknown>)['bias'];
    expect(() => decodeModel(build(noBias))).toThrow(/needs a bias/);
  });

  it('the topology names its format and precision; metadata, when present, is an object', () => {
    const edit = (change: (t: Record<string, unknown>) => void) => {
      const parts = oneLayer(2, 4, exampleCsr());
      change(parts.topology);
      return build(parts);
    };
    expect(() => decodeModel(edit((t) => (t['format'] = 'other')))).toThrow(/format/);
    expect(() => decodeModel(edit((t) => (t['valuePrecision'] = 'fp8')))).toThrow(/valuePrecision/);
    expect(() => decodeModel(edit((t) => (t['metadata'] = [1])))).toThrow(/metadata/);
    expect(() => decodeModel(edit((t) => (t['output'] = 3)))).toThrow(/output/);
  });

  it('sections may come in any order: the report follows the references', () => {
    const { topology, sections } = splitContainer(good);
    const order = sections.map((_, i) => i).reverse();
    const moved = structuredClone(topology);
    for (const node of moved.nodes) {
      for (const key of ['weight', 'bias', 'gamma', 'beta', 'movingMean', 'movingVariance']) {
        if (typeof node[key] === 'number') node[key] = order.indexOf((node[key] as number) - 1) + 1;
      }
    }
    const reversed = buildContainer(
      moved,
      order.map((i) => sections[i]!),
    );
    expect(reversed).not.toEqual(good);
    const a = describeModel(good);
    const b = describeModel(reversed);
    expect(b.layers).toEqual(a.layers);
    const detailed = decodeModelDetailed(reversed);
    expect(detailed.sectionRefs[1]).toEqual({ node: 'fc', field: 'bias' });
  });

  it('inspect of a valid file with an empty 65,536 x 32,768 or 8,192 x 4,096 layer does not build the dense layer', () => {
    const rows = 2 ** 16;
    const cols = 2 ** 15;
    const empty = csrPayload({ rows, cols, nnz: 0, coding: 1, type: 1 }, u32s(1, 0));
    const file = build(oneLayer(rows, cols, empty));
    expect(file.length).toBeLessThan(400);
    const report = describeModel(file);
    expect(report.layers[0]).toMatchObject({ nnz: 0, size: 2 ** 31, storage: 'csr' });
    expect(report.gzippedDenseBytes).toBeNull();
    expect(report.denseFp32Bytes).toBe(2 ** 33);
    // 128 MiB dense, within the size cap, from a file of under 400 bytes: not built and gzipped either.
    const wide = build(
      oneLayer(
        2 ** 13,
        2 ** 12,
        csrPayload({ rows: 2 ** 13, cols: 2 ** 12, nnz: 0, coding: 1, type: 1 }, u32s(1, 0)),
      ),
    );
    expect(wide.length).toBeLessThan(400);
    expect(describeModel(wide)).toMatchObject({ gzippedDenseBytes: null, denseFp32Bytes: 2 ** 27 });
    // A real model's yardstick is computed.
    expect(describeModel(good).gzippedDenseBytes).toBeGreaterThan(0);
  });

  it('epsilon and integer fields must be finite numbers a reader can use', () => {
    const { topology, sections } = splitContainer(good);
    const bn = topology.nodes.find((n) => n['op'] === 'batchNorm')!;
    const text = JSON.stringify(topology).replace(
      `"epsilon":${String(bn['epsilon'])}`,
      '"epsilon":1e999',
    );
    expect(text).toContain('1e999');
    expect(() => decodeModel(buildContainer(text, sections))).toThrow(/epsilon must be a finite/);
    const negative = structuredClone(topology);
    negative.nodes.find((n) => n['op'] === 'batchNorm')!['epsilon'] = -10;
    expect(() => decodeModel(buildContainer(negative, sections))).toThrow(/epsilon/);
    const big = structuredClone(topology);
    big.nodes[0]!['shape'] = [2 ** 40, 1, 3];
    expect(() => decodeModel(buildContainer(big, sections))).toThrow(InvalidModelError);
    const fractional = structuredClone(topology);
    fractional.nodes[0]!['shape'] = [9, 9.5, 3];
    expect(() => decodeModel(buildContainer(fractional, sections))).toThrow(InvalidModelError);
  });
});
