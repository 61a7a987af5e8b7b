// The container fuzzer's cases: seed containers, structure-aware mutations (fast-check arbitraries), and one run.
import fc from 'fast-check';
import { DynapruneError } from '../../src/errors.js';
import { decodeModel, describeModel, encodeModel } from '../../src/format/index.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/network.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, sampleGraph, vec } from '../../test/format/graphs.js';
import { buildContainer, fixChecksums, sectionOffset, splitContainer } from './frame.js';

/**
 * The ceilings the fuzzer runs under (documented options, lowered from their defaults so that a case
 * passing them stands out): the decoder's element budget and the runtime's memory limit.
 */
export const FUZZ_LIMITS = { maxElements: 2 ** 22, maxMemoryBytes: 64 * 2 ** 20 } as const;

/**
 * `graph` with every weight value moved onto a grid of `quantum` (never to 0): values on a coarse grid repeat
 * bytes, so the encoder deflates them and the fuzzer reaches the deflated (0x81) value blocks.
 */
function onGrid(graph: ModelGraph, quantum: number): ModelGraph {
  const snap = (v: number) => Math.round(v / quantum) * quantum || quantum;
  return {
    ...graph,
    nodes: graph.nodes.map((node) =>
      node.op === 'conv2d' || node.op === 'dense'
        ? { ...node, weight: { ...node.weight, values: node.weight.values.map(snap) } }
        : node,
    ),
  };
}

/** An MLP on features: flatten-free, dense layers only, a separate softmax node. */
function mlp(seed: number): ModelGraph {
  const rng = new Random(seed);
  return {
    nodes: [
      { op: 'input', name: 'x', shape: [40] },
      {
        op: 'dense',
        name: 'h',
        input: 'x',
        inFeatures: 40,
        outFeatures: 24,
        weight: randomCsr(rng, 24, 40, 0.2),
        bias: vec(rng, 24),
        activation: 'relu',
      },
      {
        op: 'dense',
        name: 'o',
        input: 'h',
        inFeatures: 24,
        outFeatures: 5,
        weight: randomCsr(rng, 5, 24, 0.95),
        bias: vec(rng, 5),
        activation: 'linear',
      },
      { op: 'softmax', name: 'p', input: 'o' },
    ],
    output: 'p',
    metadata: {},
  };
}

/**
 * The seed containers: the format tests' CNN with every op (CSR convs, a dense fully connected layer) and an
 * MLP, in every precision and index coding, plain and deflated.
 */
export function seedContainers(): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  for (const [i, build] of [sampleGraph, mlp].entries()) {
    const graph = build(10 + i);
    seeds.push(encodeModel(onGrid(graph, 2 ** -20), { values: 'fp32' }));
    seeds.push(encodeModel(onGrid(graph, 1 / 64), { values: 'fp32' }));
    seeds.push(encodeModel(onGrid(graph, 1 / 64), { values: 'fp16', indices: 'narrow' }));
    seeds.push(
      encodeModel(onGrid(graph, 2 ** -20), {
        values: 'int8',
        indices: 'narrow',
        chooseSmaller: false,
      }),
    );
  }
  return seeds;
}

/** u32 values that sit on the edges checks are made of. */
const EDGE_U32 = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  255,
  256,
  65535,
  65536,
  2 ** 20,
  2 ** 24,
  2 ** 24 + 1,
  2 ** 26,
  2 ** 28,
  2 ** 30,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
];
const JSON_VALUES: unknown[] = [
  0,
  -1,
  1,
  2,
  3,
  1.5,
  2 ** 16,
  2 ** 31,
  2 ** 53,
  1e300,
  null,
  true,
  '',
  'same',
  'valid',
  'relu',
  'softmax',
  'gelu',
  'image',
  'conv1',
  'fc',
  'x',
  'h',
  [],
  [1, 1],
  [0, 3],
  [2, 2],
  [65536, 32768],
  [1e6, 1e6, 3],
  [9, 9, 3],
  [40],
  { a: 1 },
  99,
  1e-9,
];
const JSON_KEYS = [
  'op',
  'name',
  'input',
  'inputs',
  'shape',
  'inChannels',
  'outChannels',
  'inFeatures',
  'outFeatures',
  'kernelSize',
  'strides',
  'poolSize',
  'padding',
  'activation',
  'weight',
  'bias',
  'gamma',
  'movingVariance',
  'epsilon',
];
const TOP_KEYS = ['format', 'valuePrecision', 'output', 'metadata', 'nodes'];

/** One edit of a container: at the byte, field, section or topology level. Positions are taken modulo. */
export type Mutation =
  | { readonly kind: 'byte'; readonly at: number; readonly value: number }
  | {
      readonly kind: 'u32';
      readonly section: number;
      readonly field: number;
      readonly value: number;
      readonly delta: boolean;
    }
  | {
      readonly kind: 'u8';
      readonly section: number;
      readonly field: number;
      readonly value: number;
    }
  | { readonly kind: 'cut'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'node'; readonly node: number; readonly key: number; readonly value: number }
  | { readonly kind: 'top'; readonly key: number; readonly value: number }
  | { readonly kind: 'relus'; readonly count: number }
  | { readonly kind: 'swap'; readonly a: number; readonly b: number };

export interface FuzzCase {
  readonly seed: number;
  readonly mutations: readonly Mutation[];
  /** Recompute the CRCs after editing, so the mutation reaches the checks behind them. */
  readonly fixChecksums: boolean;
}

const mutationArb = (maxRelus: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('byte' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('u32' as const),
        section: fc.nat(12),
        field: fc.nat(10),
        value: fc.oneof(fc.constantFrom(...EDGE_U32), fc.nat()),
        delta: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('u8' as const),
        section: fc.nat(12),
        field: fc.nat(40),
        value: fc.constantFrom(0, 1, 2, 3, 4, 5, 0x81, 0x82, 0x83, 0xff),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('node' as const),
        node: fc.nat(12),
        key: fc.nat(JSON_KEYS.length - 1),
        value: fc.nat(JSON_VALUES.length - 1),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('top' as const),
        key: fc.nat(TOP_KEYS.length - 1),
        value: fc.nat(JSON_VALUES.length - 1),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('relus' as const),
        count: fc.oneof(
          fc.nat(100),
          fc.constantFrom(8_000, 10_000, 100_000).map((n) => Math.min(n, maxRelus)),
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('swap' as const), a: fc.nat(12), b: fc.nat(12) }),
    },
  );

/**
 * A case: which seed, one to four mutations, and whether CRCs are fixed afterwards (nine times in ten).
 * `maxRelus` caps the ReLU chains appended to the graph (100,000 in `npm run fuzz`; less in CI).
 */
export const fuzzCaseArb = (seedCount: number, maxRelus = 100_000): fc.Arbitrary<FuzzCase> =>
  fc.record({
    seed: fc.nat(seedCount - 1),
    mutations: fc.array(mutationArb(maxRelus), { minLength: 1, maxLength: 4 }),
    fixChecksums: fc.integer({ min: 0, max: 9 }).map((n) => n < 9),
  });

const TENSOR_KEYS = ['weight', 'bias', 'gamma', 'beta', 'movingMean', 'movingVariance'];

/** Edits the topology and tensor sections of a well-framed file; a file that does not split is kept. */
function editStructure(bytes: Uint8Array, m: Mutation): Uint8Array {
  let parts;
  try {
    parts = splitContainer(bytes);
  } catch {
    return bytes;
  }
  const { topology, sections } = parts;
  const nodes = Array.isArray(topology.nodes) ? topology.nodes : [];
  if (m.kind === 'node' && nodes.length > 0) {
    const node = nodes[m.node % nodes.length]!;
    if (node !== null && typeof node === 'object') node[JSON_KEYS[m.key]!] = JSON_VALUES[m.value];
  } else if (m.kind === 'top') {
    topology[TOP_KEYS[m.key]!] = JSON_VALUES[m.value];
  } else if (m.kind === 'relus') {
    let previous = String(topology['output']);
    for (let i = 0; i < m.count; i++) {
      nodes.push({ op: 'relu', name: `extra${i}`, input: previous });
      previous = `extra${i}`;
    }
    topology['output'] = previous;
  } else if (m.kind === 'swap' && sections.length > 1) {
    // Reorders two tensor sections and their references: a valid file in another order.
    const a = m.a % sections.length;
    const b = m.b % sections.length;
    [sections[a], sections[b]] = [sections[b]!, sections[a]!];
    for (const node of nodes) {
      for (const key of TENSOR_KEYS) {
        if (node[key] === a + 1) node[key] = b + 1;
        else if (node[key] === b + 1) node[key] = a + 1;
      }
    }
  }
  return buildContainer(topology, sections);
}

/** Applies one byte- or field-level edit (positions modulo the file's length or section count). */
function editBytes(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (bytes.length === 0) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.max(1, Math.min(view.byteLength >= 12 ? view.getUint32(8, true) : 1, 64));
  const fieldAt = (section: number, offset: number): number => {
    try {
      return sectionOffset(bytes, section % count) + offset;
    } catch {
      return offset;
    }
  };
  switch (m.kind) {
    case 'byte':
      bytes[m.at % bytes.length] = m.value;
      return bytes;
    case 'u32': {
      // Field 0 is the section kind, 1 its length, 2... the payload's u32 slots (rows, cols, nnz, ...).
      const at = m.section === 12 ? 4 + 4 * (m.field % 2) : fieldAt(m.section, 4 * m.field);
      if (at < 0 || at + 4 > bytes.length) return bytes;
      const old = view.getUint32(at, true);
      view.setUint32(at, m.delta ? (old + (m.value % 5) - 2) >>> 0 : m.value >>> 0, true);
      return bytes;
    }
    case 'u8': {
      const at = fieldAt(m.section, 8 + m.field);
      if (at >= 0 && at < bytes.length) bytes[at] = m.value;
      return bytes;
    }
    case 'cut':
      return bytes.slice(0, m.at % (bytes.length + 1));
    case 'insert': {
      const at = m.at % (bytes.length + 1);
      const out = new Uint8Array(bytes.length + m.bytes.length);
      out.set(bytes.subarray(0, at));
      out.set(m.bytes, at);
      out.set(bytes.subarray(at), at + m.bytes.length);
      return out;
    }
    default:
      return bytes;
  }
}

/** The file of a case: its seed with the mutations applied in order, CRCs fixed if the case says so. */
export function caseBytes(seeds: readonly Uint8Array[], c: FuzzCase): Uint8Array {
  let bytes: Uint8Array = seeds[c.seed % seeds.length]!.slice();
  for (const m of c.mutations) {
    const structural =
      m.kind === 'node' || m.kind === 'top' || m.kind === 'relus' || m.kind === 'swap';
    bytes = structural ? editStructure(bytes, m) : editBytes(bytes, m);
  }
  return c.fixChecksums ? fixChecksums(bytes) : bytes;
}

/** What happened to one file. */
export type Outcome =
  | { readonly kind: 'accepted'; readonly finite: boolean }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'untyped'; readonly error: string };

/**
 * Runs a file through every path a user has: decode, the inspect report, the runtime's load and one
 * prediction. Typed errors are refusals; anything else is an untyped failure (the fuzzer's bug).
 */
export async function runCase(bytes: Uint8Array, inspect: boolean): Promise<Outcome> {
  try {
    const graph = decodeModel(bytes, { maxElements: FUZZ_LIMITS.maxElements });
    if (inspect) describeModel(bytes, undefined, { maxElements: FUZZ_LIMITS.maxElements });
    const net = await createNetwork(graph, {
      maxMemoryBytes: FUZZ_LIMITS.maxMemoryBytes,
      engine: 'wasm-simd',
    });
    const size = net.inputShape.reduce((a, b) => a * b, 1);
    const out = net.predict(new Float32Array(size).fill(0.5), 1);
    return { kind: 'accepted', finite: out.every(Number.isFinite) };
  } catch (error) {
    if (error instanceof DynapruneError) return { kind: 'refused', code: error.code };
    return {
      kind: 'untyped',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
}
