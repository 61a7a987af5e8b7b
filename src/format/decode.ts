// Reads a dynaprune container: checks every size against the real length before allocating, every CRC, every index.
import { inflateSync } from 'fflate';
import { BitReader } from './bits.js';
import { crc32 } from './crc32.js';
import {
  BadMagicError,
  InvalidModelError,
  InvalidSizeError,
  SectionChecksumError,
  TruncatedFileError,
  UnsupportedVersionError,
} from './errors.js';
import { readGolomb } from './golomb.js';
import type {
  CsrMatrix,
  DenseMatrix,
  GraphNode,
  ModelGraph,
  WeightMatrix,
} from '../graph/types.js';
import { fromHalf } from './half.js';
import {
  DEFLATED_VALUES,
  HEADER_BYTES,
  IndexCoding,
  MAGIC,
  MAX_ELEMENTS,
  SECTION_OVERHEAD,
  SectionKind,
  SUPPORTED_VERSIONS,
  ValueType,
  type ValuePrecision,
} from './layout.js';
import { validateGraph } from '../graph/shapes.js';

export interface DecodeOptions {
  /** Names the file in error messages (a path or URL). */
  readonly name?: string;
}

/** A decoded container: the graph plus facts about how it was stored. */
export interface DecodedModel {
  readonly graph: ModelGraph;
  readonly version: number;
  readonly valuePrecision: ValuePrecision;
  /** Bytes of each section by index (0 is the topology), framing included. */
  readonly sectionBytes: readonly number[];
  /** The storage of each weight section: 'csr' or 'dense', by section index. */
  readonly sectionKinds: readonly ('topology' | 'dense' | 'csr')[];
  readonly totalBytes: number;
}

/** Reads little-endian fields with bounds checks that raise TruncatedFileError. */
class Reader {
  private readonly view: DataView;
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly source: string,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  need(n: number, field: string): void {
    if (n > this.remaining)
      throw new TruncatedFileError(this.source, `${this.what} ${field}`, n, this.remaining);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.offset++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  uint(width: number, field: string): number {
    return width === 1 ? this.u8(field) : width === 2 ? this.u16(field) : this.u32(field);
  }
}

const precisionOf = (code: number, source: string, where: string): ValuePrecision => {
  const entry = Object.entries(ValueType).find(([, v]) => v === (code & ~DEFLATED_VALUES));
  if (!entry) throw new InvalidModelError(source, `${where}: unknown value type ${code}`);
  return entry[0] as ValuePrecision;
};

/**
 * Inflates a shuffled value block back to plain little-endian bytes in a new Reader. The inflated size
 * is known in advance (count × width), so a corrupt stream cannot make the reader allocate more.
 */
function inflateValues(
  r: Reader,
  count: number,
  precision: ValuePrecision,
  source: string,
  where: string,
): Reader {
  const width = precision === 'fp32' ? 4 : 2;
  const length = r.u32(`${where} deflated length`);
  const packed = r.take(length, `${where} deflated values`);
  const shuffled = new Uint8Array(count * width);
  try {
    const got = inflateSync(packed, { out: shuffled });
    if (got.length !== shuffled.length)
      throw new Error(`inflated to ${got.length} bytes, expected ${shuffled.length}`);
  } catch (error) {
    throw new InvalidModelError(
      source,
      `${where}: the deflated values are corrupt (${(error as Error).message})`,
    );
  }
  const plain = new Uint8Array(count * width);
  for (let i = 0; i < count; i++)
    for (let b = 0; b < width; b++) plain[i * width + b] = shuffled[b * count + i]!;
  return new Reader(plain, source, where);
}

/** Reads `count` values stored at `precision` (int8: `rows` scales first, rows from `rowStarts`). */
function readValues(
  r: Reader,
  count: number,
  precision: ValuePrecision,
  rowStarts: ArrayLike<number>,
  where: string,
): Float32Array {
  const out = new Float32Array(count);
  if (precision === 'fp32') {
    const raw = r.take(count * 4, `${where} values`);
    // Copy to an aligned buffer, then view it: much faster than a DataView per value.
    const aligned = new Uint8Array(count * 4);
    aligned.set(raw);
    const view = new DataView(aligned.buffer);
    const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (littleEndianHost) out.set(new Float32Array(aligned.buffer));
    else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (precision === 'fp16') {
    const raw = r.take(count * 2, `${where} values`);
    for (let i = 0; i < count; i++) out[i] = fromHalf(raw[2 * i]! | (raw[2 * i + 1]! << 8));
  } else {
    const rows = rowStarts.length - 1;
    r.need(rows * 4 + count, `${where} int8 scales and values`);
    const scales = new Float32Array(rows);
    for (let k = 0; k < rows; k++) {
      const raw = r.take(4, `${where} scale`);
      scales[k] = new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true);
    }
    const bytes = r.take(count, `${where} int8 values`);
    for (let k = 0; k < rows; k++) {
      for (let i = rowStarts[k]!; i < rowStarts[k + 1]!; i++)
        out[i] = ((bytes[i]! << 24) >> 24) * scales[k]!;
    }
  }
  return out;
}

function readDense(
  payload: Uint8Array,
  source: string,
  where: string,
): { dims: number[]; values: Float32Array } {
  const r = new Reader(payload, source, where);
  const typeByte = r.u8('value type');
  const precision = precisionOf(typeByte, source, where);
  const deflated = (typeByte & DEFLATED_VALUES) !== 0;
  const rank = r.u8('rank');
  r.u16('reserved');
  if (rank < 1 || rank > 4)
    throw new InvalidModelError(source, `${where}: rank ${rank} is not 1 to 4`);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = r.u32('dimension');
    dims.push(d);
    size *= d;
  }
  const rows = rank > 1 ? dims[0]! : 1;
  const bytesPer = precision === 'fp32' ? 4 : precision === 'fp16' ? 2 : 1;
  const needed = size * bytesPer + (precision === 'int8' ? rows * 4 : 0);
  if (size > MAX_ELEMENTS || (deflated ? precision === 'int8' : needed !== r.remaining)) {
    throw new InvalidSizeError(
      source,
      `${where}: dims ${dims.join('x')} at ${precision} need ${needed} bytes, the section holds ${r.remaining}`,
    );
  }
  const cols = rows === 0 ? 0 : size / rows;
  const starts = Array.from({ length: rows + 1 }, (_, k) => k * cols);
  const values = deflated
    ? readValues(inflateValues(r, size, precision, source, where), size, precision, starts, where)
    : readValues(r, size, precision, starts, where);
  if (r.remaining !== 0)
    throw new InvalidSizeError(source, `${where}: ${r.remaining} unexplained bytes at the end`);
  return { dims, values };
}

function readCsr(payload: Uint8Array, source: string, where: string): CsrMatrix {
  const r = new Reader(payload, source, where);
  const rows = r.u32('rows');
  const cols = r.u32('cols');
  const nnz = r.u32('nnz');
  const coding = r.u8('index coding');
  const typeByte = r.u8('value type');
  const precision = precisionOf(typeByte, source, where);
  const deflated = (typeByte & DEFLATED_VALUES) !== 0;
  r.u16('reserved');
  const total = rows * cols;
  if (total > MAX_ELEMENTS || nnz > total) {
    throw new InvalidSizeError(
      source,
      `${where}: ${nnz} nonzeros in a ${rows}x${cols} matrix is impossible`,
    );
  }
  // Every nonzero costs at least one index bit and its value bytes: bound nnz by the bytes present.
  // Deflate shrinks at most about 1032:1, which still bounds nnz by the bytes present.
  const valueBytes =
    (precision === 'fp32' ? 4 : precision === 'fp16' ? 2 : 1) / (deflated ? 1032 : 1);
  if (deflated && precision === 'int8')
    throw new InvalidModelError(source, `${where}: int8 values are never deflated`);
  if (nnz * valueBytes > r.remaining) {
    throw new InvalidSizeError(
      source,
      `${where}: ${nnz} values need ${nnz * valueBytes} bytes, only ${r.remaining} remain`,
    );
  }
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx = new Uint32Array(nnz);
  if (coding === IndexCoding.golomb) {
    const param = r.u32('Golomb parameter');
    const length = r.u32('index stream length');
    if (param < 1 || param > 1 << 24)
      throw new InvalidModelError(source, `${where}: Golomb parameter ${param} is out of range`);
    const stream = new BitReader(r.take(length, 'index stream'));
    if (nnz > stream.remaining) {
      throw new InvalidSizeError(
        source,
        `${where}: ${nnz} indices cannot fit in ${stream.remaining} bits`,
      );
    }
    const maxQuotient = Math.floor(total / param) + 1;
    let position = -1;
    let row = 0;
    for (let k = 0; k < nnz; k++) {
      const gap = readGolomb(stream, param, maxQuotient);
      if (gap < 0)
        throw new InvalidModelError(
          source,
          `${where}: the index stream ends or is corrupt at nonzero ${k}`,
        );
      position += gap + 1;
      if (position >= total)
        throw new InvalidModelError(
          source,
          `${where}: nonzero ${k} falls outside the ${rows}x${cols} matrix`,
        );
      const rowOf = Math.floor(position / cols);
      while (row < rowOf) rowPtr[++row] = k;
      colIdx[k] = position - rowOf * cols;
    }
    while (row < rows) rowPtr[++row] = nnz;
  } else if (coding === IndexCoding.narrow) {
    const rowWidth = r.u8('rowPtr width');
    const colWidth = r.u8('colIdx width');
    r.u16('reserved');
    if (![1, 2, 4].includes(rowWidth) || ![1, 2, 4].includes(colWidth)) {
      throw new InvalidModelError(
        source,
        `${where}: index widths ${rowWidth}/${colWidth} are not 1, 2 or 4`,
      );
    }
    r.need((rows + 1) * rowWidth + nnz * colWidth, 'indices');
    for (let i = 0; i <= rows; i++) rowPtr[i] = r.uint(rowWidth, 'rowPtr');
    for (let i = 0; i < nnz; i++) colIdx[i] = r.uint(colWidth, 'colIdx');
    if (rowPtr[0] !== 0 || rowPtr[rows] !== nnz) {
      throw new InvalidModelError(source, `${where}: rowPtr must run from 0 to ${nnz}`);
    }
    for (let i = 0; i < rows; i++) {
      if (rowPtr[i + 1]! < rowPtr[i]!)
        throw new InvalidModelError(source, `${where}: rowPtr decreases at row ${i}`);
    }
  } else {
    throw new InvalidModelError(source, `${where}: unknown index coding ${coding}`);
  }
  const values = deflated
    ? readValues(inflateValues(r, nnz, precision, source, where), nnz, precision, rowPtr, where)
    : readValues(r, nnz, precision, rowPtr, where);
  if (r.remaining !== 0)
    throw new InvalidSizeError(source, `${where}: ${r.remaining} unexplained bytes at the end`);
  return { kind: 'csr', rows, cols, rowPtr, colIdx, values };
}

type JsonObject = Record<string, unknown>;

/** Decodes container bytes into a validated ModelGraph. Every failure is a typed CorruptFileError. */
export function decodeModelDetailed(bytes: Uint8Array, options: DecodeOptions = {}): DecodedModel {
  const source = options.name ?? '<container>';
  if (bytes.length < HEADER_BYTES)
    throw new TruncatedFileError(source, 'the header', HEADER_BYTES, bytes.length);
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(
      ' ',
    );
    throw new BadMagicError(source, found);
  }
  const head = new Reader(bytes, source, 'header');
  head.offset = 4;
  const version = head.u16('version');
  if (!SUPPORTED_VERSIONS.includes(version))
    throw new UnsupportedVersionError(source, version, SUPPORTED_VERSIONS);
  head.u16('flags');
  const count = head.u32('section count');
  const headerCrc = head.u32('header checksum');
  const actualHeaderCrc = crc32(bytes.subarray(0, 12));
  if (headerCrc !== actualHeaderCrc)
    throw new SectionChecksumError(source, 'header', headerCrc, actualHeaderCrc);
  if (count < 1 || count > (bytes.length - HEADER_BYTES) / SECTION_OVERHEAD) {
    throw new InvalidSizeError(
      source,
      `declares ${count} sections; a file of ${bytes.length} bytes holds at most ${Math.floor((bytes.length - HEADER_BYTES) / SECTION_OVERHEAD)}`,
    );
  }
  const sections: { kind: number; payload: Uint8Array }[] = [];
  const sectionBytes: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = head.offset;
    const kind = head.u32(`section ${i} kind`);
    const length = head.u32(`section ${i} length`);
    const payload = head.take(length, `section ${i} payload`);
    const crc = head.u32(`section ${i} checksum`);
    const actual = crc32(payload);
    if (crc !== actual) throw new SectionChecksumError(source, `section ${i}`, crc, actual);
    while (head.offset % 4 !== 0 && head.remaining > 0) head.u8(`section ${i} padding`);
    if (!Object.values(SectionKind).includes(kind as 1 | 2 | 3))
      throw new InvalidModelError(source, `section ${i} has unknown kind ${kind}`);
    sections.push({ kind, payload });
    sectionBytes.push(head.offset - start);
  }
  if (head.remaining !== 0)
    throw new InvalidSizeError(source, `${head.remaining} bytes follow the last section`);
  if (sections[0]!.kind !== SectionKind.topology)
    throw new InvalidModelError(source, 'section 0 must be the topology');

  let topology: JsonObject;
  try {
    topology = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(sections[0]!.payload),
    ) as JsonObject;
  } catch (error) {
    throw new InvalidModelError(
      source,
      `the topology is not valid JSON (${(error as Error).message})`,
    );
  }
  if (topology === null || typeof topology !== 'object' || !Array.isArray(topology['nodes'])) {
    throw new InvalidModelError(source, 'the topology has no node list');
  }
  const used = new Set<number>();
  const section = (ref: unknown, kind: number, where: string): Uint8Array => {
    if (typeof ref !== 'number' || !Number.isInteger(ref) || ref < 1 || ref >= sections.length) {
      throw new InvalidModelError(
        source,
        `${where} refers to section ${String(ref)}, which does not exist`,
      );
    }
    if (used.has(ref)) throw new InvalidModelError(source, `${where} reuses section ${ref}`);
    used.add(ref);
    const s = sections[ref]!;
    if (s.kind !== kind)
      throw new InvalidModelError(source, `${where}: section ${ref} has the wrong kind`);
    return s.payload;
  };
  const vector = (ref: unknown, where: string): Float32Array => {
    const { dims, values } = readDense(section(ref, SectionKind.dense, where), source, where);
    if (dims.length !== 1)
      throw new InvalidModelError(
        source,
        `${where}: expected a vector, got dims ${dims.join('x')}`,
      );
    return values;
  };
  const weight = (ref: unknown, where: string): WeightMatrix => {
    const kind = typeof ref === 'number' ? sections[ref]?.kind : undefined;
    if (kind === SectionKind.csr)
      return readCsr(section(ref, SectionKind.csr, where), source, where);
    const { dims, values } = readDense(section(ref, SectionKind.dense, where), source, where);
    if (dims.length !== 2)
      throw new InvalidModelError(
        source,
        `${where}: expected a matrix, got dims ${dims.join('x')}`,
      );
    return { kind: 'dense', rows: dims[0]!, cols: dims[1]!, values } satisfies DenseMatrix;
  };
  const nodes: GraphNode[] = (topology['nodes'] as unknown[]).map((raw, index) => {
    if (raw === null || typeof raw !== 'object')
      throw new InvalidModelError(source, `node ${index} is not an object`);
    const node = raw as JsonObject;
    const where = `node ${index} ("${String(node['name'])}")`;
    switch (node['op']) {
      case 'conv2d':
      case 'dense':
        return {
          ...node,
          weight: weight(node['weight'], `${where} weight`),
          bias: node['bias'] === null ? null : vector(node['bias'], `${where} bias`),
        } as unknown as GraphNode;
      case 'batchNorm':
        return {
          ...node,
          gamma: vector(node['gamma'], `${where} gamma`),
          beta: vector(node['beta'], `${where} beta`),
          movingMean: vector(node['movingMean'], `${where} movingMean`),
          movingVariance: vector(node['movingVariance'], `${where} movingVariance`),
        } as unknown as GraphNode;
      default:
        return node as unknown as GraphNode;
    }
  });
  if (used.size !== sections.length - 1) {
    throw new InvalidModelError(
      source,
      `${sections.length - 1 - used.size} sections are not referenced by any node`,
    );
  }
  const metadata = topology['metadata'];
  const graph: ModelGraph = {
    nodes,
    output: topology['output'] as string,
    metadata:
      metadata !== null && typeof metadata === 'object'
        ? (metadata as Record<string, unknown>)
        : {},
  };
  validateGraph(graph, (message) => new InvalidModelError(source, message));
  const precision = topology['valuePrecision'];
  return {
    graph,
    version,
    valuePrecision: precision === 'fp16' || precision === 'int8' ? precision : 'fp32',
    sectionBytes,
    sectionKinds: sections.map((s) =>
      s.kind === SectionKind.topology ? 'topology' : s.kind === SectionKind.csr ? 'csr' : 'dense',
    ),
    totalBytes: bytes.length,
  };
}

/** Decodes container bytes into a validated ModelGraph. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelGraph {
  return decodeModelDetailed(bytes, options).graph;
}
