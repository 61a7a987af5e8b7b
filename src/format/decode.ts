// Reads a dynaprune container: checks every size against the real length before allocating, every CRC, every index.
import { crc32 } from './crc32.js';
import {
  BadMagicError,
  InvalidModelError,
  InvalidSizeError,
  SectionChecksumError,
  TruncatedFileError,
  UnsupportedVersionError,
} from './errors.js';
import type { DenseMatrix, GraphNode, ModelGraph, WeightMatrix } from '../graph/types.js';
import {
  DEFAULT_MAX_ELEMENTS,
  DEFAULT_MAX_NODES,
  DEFAULT_MAX_TOPOLOGY_BYTES,
  HEADER_BYTES,
  MAGIC,
  SECTION_OVERHEAD,
  SectionKind,
  SUPPORTED_VERSIONS,
  valuePrecisions,
  type ValuePrecision,
} from './layout.js';
import { ElementBudget, Reader } from './reader.js';
import { readCsr, readDense, type SectionContext } from './tensor-sections.js';
import { validateGraph } from '../graph/shapes.js';
import { metadataProblem } from './metadata.js';

export interface DecodeOptions {
  /** Names the file in error messages (a path or URL). */
  readonly name?: string;
  /**
   * The most elements (values, indices, row pointers, scales) the reader allocates for this file; a
   * file declaring more is refused before allocating (InvalidSizeError). Default 2^26 (FORMAT.md, "Limits").
   */
  readonly maxElements?: number;
  /**
   * The most bytes of topology JSON the reader decodes and parses; a longer topology is refused before
   * parsing (InvalidSizeError). Default 2^20 = 1 MiB (FORMAT.md, "Limits").
   */
  readonly maxTopologyBytes?: number;
  /**
   * The most graph nodes the reader accepts; a topology with more is refused right after parsing, before any
   * node is read (InvalidSizeError). Default 2^13 = 8,192 (FORMAT.md, "Limits").
   */
  readonly maxNodes?: number;
  /** Accept NaN and ±Infinity weights instead of refusing them with NonFiniteValueError (default false). */
  readonly allowNonFinite?: boolean;
}

/** Which node field refers to a tensor section. */
export interface SectionRef {
  readonly node: string;
  readonly field: string;
}

/** A decoded container: the graph plus facts about how it was stored. */
export interface DecodedModel {
  readonly graph: ModelGraph;
  readonly version: number;
  readonly valuePrecision: ValuePrecision;
  /** Bytes of each section by index (0 is the topology), framing and padding included. */
  readonly sectionBytes: readonly number[];
  /** The storage of each section, by section index. */
  readonly sectionKinds: readonly ('topology' | 'dense' | 'csr')[];
  /** The node field that refers to each tensor section, by section index (undefined for 0). */
  readonly sectionRefs: readonly (SectionRef | undefined)[];
  readonly totalBytes: number;
}

type JsonObject = Record<string, unknown>;

interface RawSection {
  readonly kind: number;
  readonly payload: Uint8Array;
}

/** The header and the section framing: magic, version, flags, CRCs, zero padding, no trailing bytes. */
function readFraming(
  bytes: Uint8Array,
  source: string,
): { version: number; sections: RawSection[]; sectionBytes: number[] } {
  if (bytes.length < HEADER_BYTES)
    throw new TruncatedFileError(source, 'the header', HEADER_BYTES, bytes.length);
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0'));
    throw new BadMagicError(source, found.join(' '));
  }
  const head = new Reader(bytes, source, 'header');
  head.offset = 4;
  const version = head.u16('version');
  if (!SUPPORTED_VERSIONS.includes(version))
    throw new UnsupportedVersionError(source, version, SUPPORTED_VERSIONS);
  const flags = head.u16('flags');
  const count = head.u32('section count');
  const headerCrc = head.u32('header checksum');
  const actualHeaderCrc = crc32(bytes.subarray(0, 12));
  if (headerCrc !== actualHeaderCrc)
    throw new SectionChecksumError(source, 'header', headerCrc, actualHeaderCrc);
  if (flags !== 0)
    throw new InvalidModelError(source, `header flags must be 0 in version 1, found ${flags}`);
  const most = Math.floor((bytes.length - HEADER_BYTES) / SECTION_OVERHEAD);
  if (count < 1 || count > most) {
    throw new InvalidSizeError(
      source,
      `declares ${count} sections; a file of ${bytes.length} bytes holds 1 to ${most}`,
    );
  }
  const sections: RawSection[] = [];
  const sectionBytes: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = head.offset;
    const kind = head.u32(`section ${i} kind`);
    const length = head.u32(`section ${i} length`);
    const payload = head.take(length, `section ${i} payload`);
    const crc = head.u32(`section ${i} checksum`);
    const actual = crc32(payload);
    if (crc !== actual) throw new SectionChecksumError(source, `section ${i}`, crc, actual);
    const padding = (4 - (head.offset % 4)) % 4;
    for (const b of head.take(padding, `section ${i} padding`)) {
      if (b !== 0)
        throw new InvalidModelError(source, `section ${i}: padding bytes must be 0, found ${b}`);
    }
    if (!Object.values(SectionKind).includes(kind as 1 | 2 | 3))
      throw new InvalidModelError(source, `section ${i} has unknown kind ${kind}`);
    if ((kind === SectionKind.topology) !== (i === 0))
      throw new InvalidModelError(source, 'section 0, and only it, must be the topology (kind 1)');
    sections.push({ kind, payload });
    sectionBytes.push(head.offset - start);
  }
  if (head.remaining !== 0)
    throw new InvalidSizeError(source, `${head.remaining} bytes follow the last section`);
  return { version, sections, sectionBytes };
}

/** The topology's ceilings (FORMAT.md, "Limits"). */
interface TopologyLimits {
  readonly maxTopologyBytes: number;
  readonly maxNodes: number;
}

/**
 * Section 0's JSON: an object with format "dynaprune-csr", a known valuePrecision, nodes, an output. The
 * text's length is checked before it is parsed, the node count before any node is read.
 */
function readTopology(payload: Uint8Array, source: string, limits: TopologyLimits): JsonObject {
  if (payload.length > limits.maxTopologyBytes) {
    throw new InvalidSizeError(
      source,
      `the topology is ${payload.length} bytes of JSON, above the reader's ceiling of ` +
        `${limits.maxTopologyBytes}; raise maxTopologyBytes if this model is genuinely that large`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw new InvalidModelError(
      source,
      `the topology is not valid UTF-8 JSON (${(error as Error).message})`,
    );
  }
  const isObject = (v: unknown): v is JsonObject =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(parsed)) throw new InvalidModelError(source, 'the topology is not a JSON object');
  const fail = (message: string) => new InvalidModelError(source, `the topology's ${message}`);
  if (parsed['format'] !== 'dynaprune-csr')
    throw fail(`format is ${JSON.stringify(parsed['format'])}, expected "dynaprune-csr"`);
  if (!(valuePrecisions as readonly unknown[]).includes(parsed['valuePrecision']))
    throw fail(`valuePrecision must be one of ${valuePrecisions.join(', ')}`);
  if (!Array.isArray(parsed['nodes'])) throw fail('nodes must be a list');
  if (parsed['nodes'].length > limits.maxNodes) {
    throw new InvalidSizeError(
      source,
      `the topology has ${parsed['nodes'].length} nodes, above the reader's ceiling of ` +
        `${limits.maxNodes}; raise maxNodes if this model is genuinely that deep`,
    );
  }
  if (typeof parsed['output'] !== 'string') throw fail('output must be a node name (a string)');
  if (parsed['metadata'] !== undefined && !isObject(parsed['metadata']))
    throw fail('metadata must be a JSON object');
  return parsed;
}

/** Resolves the topology's section references into tensors, each tensor section used exactly once. */
function readNodes(
  topology: JsonObject,
  sections: readonly RawSection[],
  ctx: SectionContext,
): { nodes: GraphNode[]; refs: (SectionRef | undefined)[] } {
  const { source } = ctx;
  const refs: (SectionRef | undefined)[] = sections.map(() => undefined);
  const section = (node: JsonObject, field: string, kinds: readonly number[], where: string) => {
    const ref = node[field];
    if (typeof ref !== 'number' || !Number.isInteger(ref) || ref < 1 || ref >= sections.length) {
      throw new InvalidModelError(
        source,
        `${where} refers to section ${JSON.stringify(ref)}, which does not exist`,
      );
    }
    if (refs[ref]) throw new InvalidModelError(source, `${where} reuses section ${ref}`);
    refs[ref] = { node: String(node['name']), field };
    const s = sections[ref]!;
    if (!kinds.includes(s.kind))
      throw new InvalidModelError(
        source,
        `${where}: section ${ref} has the wrong kind (${s.kind})`,
      );
    return s;
  };
  const vector = (node: JsonObject, field: string, where: string): Float32Array => {
    const at = `${where} ${field}`;
    const s = section(node, field, [SectionKind.dense], at);
    const { dims, values, precision } = readDense(s.payload, ctx, at);
    if (dims.length !== 1 || precision !== 'fp32') {
      throw new InvalidModelError(
        source,
        `${at}: must be an fp32 vector, found ${precision} with dims ${dims.join('x')}`,
      );
    }
    return values;
  };
  const weight = (node: JsonObject, where: string): WeightMatrix => {
    const at = `${where} weight`;
    const s = section(node, 'weight', [SectionKind.dense, SectionKind.csr], at);
    if (s.kind === SectionKind.csr) {
      const { kind, rows, cols, rowPtr, colIdx, values } = readCsr(s.payload, ctx, at);
      return { kind, rows, cols, rowPtr, colIdx, values };
    }
    const { dims, values } = readDense(s.payload, ctx, at);
    if (dims.length !== 2) {
      throw new InvalidModelError(
        source,
        `${at}: must be a rank-2 matrix [rows, cols], found dims ${dims.join('x')}`,
      );
    }
    return { kind: 'dense', rows: dims[0]!, cols: dims[1]!, values } satisfies DenseMatrix;
  };
  const nodes = (topology['nodes'] as unknown[]).map((raw, index): GraphNode => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new InvalidModelError(source, `node ${index} is not an object`);
    const node = raw as JsonObject;
    const where = `node ${index} ("${String(node['name'])}")`;
    switch (node['op']) {
      case 'conv2d':
      case 'dense':
        if (!('bias' in node))
          throw new InvalidModelError(source, `${where}: needs a bias (a section index or null)`);
        return {
          ...node,
          weight: weight(node, where),
          bias: node['bias'] === null ? null : vector(node, 'bias', where),
        } as unknown as GraphNode;
      case 'batchNorm':
        return {
          ...node,
          gamma: vector(node, 'gamma', where),
          beta: vector(node, 'beta', where),
          movingMean: vector(node, 'movingMean', where),
          movingVariance: vector(node, 'movingVariance', where),
        } as unknown as GraphNode;
      default:
        return node as unknown as GraphNode;
    }
  });
  const unused = refs.slice(1).filter((r) => r === undefined).length;
  if (unused > 0)
    throw new InvalidModelError(source, `${unused} sections are not referenced by any node`);
  return { nodes, refs };
}

/** Decodes container bytes into a validated ModelGraph. Every failure is a typed CorruptFileError. */
export function decodeModelDetailed(bytes: Uint8Array, options: DecodeOptions = {}): DecodedModel {
  const source = options.name ?? '<container>';
  const { version, sections, sectionBytes } = readFraming(bytes, source);
  const topology = readTopology(sections[0]!.payload, source, {
    maxTopologyBytes: options.maxTopologyBytes ?? DEFAULT_MAX_TOPOLOGY_BYTES,
    maxNodes: options.maxNodes ?? DEFAULT_MAX_NODES,
  });
  const ctx: SectionContext = {
    source,
    budget: new ElementBudget(options.maxElements ?? DEFAULT_MAX_ELEMENTS, source),
    allowNonFinite: options.allowNonFinite ?? false,
  };
  const { nodes, refs } = readNodes(topology, sections, ctx);
  const graph: ModelGraph = {
    nodes,
    output: topology['output'] as string,
    metadata: (topology['metadata'] as Record<string, unknown> | undefined) ?? {},
  };
  const shapes = validateGraph(graph, (message) => new InvalidModelError(source, message));
  const problem = metadataProblem(
    graph.metadata,
    shapes.get(graph.nodes[0]!.name)!,
    shapes.get(graph.output)!,
  );
  if (problem) throw new InvalidModelError(source, problem);
  return {
    graph,
    version,
    valuePrecision: topology['valuePrecision'] as ValuePrecision,
    sectionBytes,
    sectionKinds: sections.map((s) =>
      s.kind === SectionKind.topology ? 'topology' : s.kind === SectionKind.csr ? 'csr' : 'dense',
    ),
    sectionRefs: refs,
    totalBytes: bytes.length,
  };
}

/** Decodes container bytes into a validated ModelGraph. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelGraph {
  return decodeModelDetailed(bytes, options).graph;
}
