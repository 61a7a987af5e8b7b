// Writes a ModelGraph as a dynaprune container: header, JSON topology, then one section per tensor.
import { deflateSync } from 'fflate';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { BitWriter } from './bits.js';
import { crc32 } from './crc32.js';
import { optimalGolombParameter, writeGolomb } from './golomb.js';
import type {
  CsrMatrix,
  DenseMatrix,
  GraphNode,
  ModelGraph,
  WeightMatrix,
} from '../graph/types.js';
import { fromHalf, toHalf } from './half.js';
import { toCsr, toDense } from '../graph/matrix.js';
import {
  FORMAT_VERSION,
  HEADER_BYTES,
  IndexCoding,
  DEFLATED_VALUES,
  MAGIC,
  SectionKind,
  ValueType,
  type IndexCodingName,
  type ValuePrecision,
} from './layout.js';
import { validateGraph } from '../graph/shapes.js';

export interface EncodeOptions {
  /** Precision of weight values: `fp32` (lossless, default), `fp16` or `int8` with a per-row scale. */
  readonly values?: ValuePrecision;
  /** How CSR column indices are stored: `golomb` (default, the smallest) or `narrow`. */
  readonly indices?: IndexCodingName;
  /**
   * Store a sparse weight as CSR only when that is smaller than dense storage (default true). With false,
   * every CSR matrix in the graph stays CSR.
   */
  readonly chooseSmaller?: boolean;
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buffer = new Uint8Array(4096);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  i8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }
  /** Unsigned integer of 1, 2 or 4 bytes. */
  uint(v: number, width: number): void {
    if (width === 1) this.u8(v);
    else if (width === 2) this.u16(v);
    else this.u32(v);
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

const narrowWidth = (max: number): number => (max < 256 ? 1 : max < 65536 ? 2 : 4);

/** Bytes of `values` at `precision`, byte-plane shuffled: all first bytes, then all second bytes... */
function shuffledBytes(values: Float32Array, precision: 'fp32' | 'fp16'): Uint8Array {
  const width = precision === 'fp32' ? 4 : 2;
  const raw = new ByteWriter();
  for (const v of values) {
    if (precision === 'fp32') raw.f32(v);
    else raw.u16(toHalf(v));
  }
  const plain = raw.finish();
  const out = new Uint8Array(plain.length);
  const n = values.length;
  for (let i = 0; i < n; i++)
    for (let b = 0; b < width; b++) out[b * n + i] = plain[i * width + b]!;
  return out;
}

/**
 * The value block. fp32 and fp16 values are also tried byte-plane shuffled and deflated (sign and
 * exponent bytes of trained weights are very repetitive): whichever is smaller is kept, and the flag
 * DEFLATED_VALUES in the value-type byte says which.
 */
function valueBlock(
  values: Float32Array,
  precision: ValuePrecision,
  rowStarts: ArrayLike<number>,
): { flag: number; bytes: Uint8Array } {
  const plain = new ByteWriter();
  writeValues(plain, values, precision, rowStarts);
  const raw = plain.finish();
  if (precision === 'int8' || values.length === 0) return { flag: 0, bytes: raw };
  const packed = deflateSync(shuffledBytes(values, precision), { level: 9 });
  if (packed.length + 4 >= raw.length) return { flag: 0, bytes: raw };
  const out = new ByteWriter();
  out.u32(packed.length);
  out.bytes(packed);
  return { flag: DEFLATED_VALUES, bytes: out.finish() };
}

/** Writes `values` at `precision`; int8 uses one scale per row of `cols` values (symmetric, max/127). */
function writeValues(
  out: ByteWriter,
  values: Float32Array,
  precision: ValuePrecision,
  rowStarts: ArrayLike<number>,
): void {
  if (precision === 'fp32') {
    for (const v of values) out.f32(v);
  } else if (precision === 'fp16') {
    for (const v of values) out.u16(toHalf(v));
  } else {
    const rows = rowStarts.length - 1;
    const scales = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let k = rowStarts[r]!; k < rowStarts[r + 1]!; k++)
        max = Math.max(max, Math.abs(values[k]!));
      scales[r] = max / 127;
    }
    for (const s of scales) out.f32(s);
    for (let r = 0; r < rows; r++) {
      const s = scales[r]!;
      for (let k = rowStarts[r]!; k < rowStarts[r + 1]!; k++)
        out.i8(s === 0 ? 0 : Math.round(values[k]! / s));
    }
  }
}

/** A dense tensor section: dtype, rank, dims, values. Rows for int8 scales are the first axis. */
function denseSection(
  dims: readonly number[],
  values: Float32Array,
  precision: ValuePrecision,
): Uint8Array {
  const out = new ByteWriter();
  const rows = dims.length > 1 ? dims[0]! : 1;
  const cols = values.length / rows;
  const block = valueBlock(
    values,
    precision,
    Array.from({ length: rows + 1 }, (_, r) => r * cols),
  );
  out.u8(ValueType[precision] | block.flag);
  out.u8(dims.length);
  out.u16(0);
  for (const d of dims) out.u32(d);
  out.bytes(block.bytes);
  return out.finish();
}

function csrSection(m: CsrMatrix, precision: ValuePrecision, coding: IndexCodingName): Uint8Array {
  const out = new ByteWriter();
  const nnz = m.values.length;
  const block = valueBlock(m.values, precision, m.rowPtr);
  out.u32(m.rows);
  out.u32(m.cols);
  out.u32(nnz);
  out.u8(IndexCoding[coding]);
  out.u8(ValueType[precision] | block.flag);
  out.u16(0);
  if (coding === 'golomb') {
    // Gaps between consecutive nonzeros of the row-major flattened matrix, minus one (so ≥ 0).
    const total = m.rows * m.cols;
    const meanGap = nnz > 0 ? total / nnz : 1;
    const param = optimalGolombParameter(meanGap);
    const bits = new BitWriter();
    let previous = -1;
    for (let r = 0; r < m.rows; r++) {
      for (let k = m.rowPtr[r]!; k < m.rowPtr[r + 1]!; k++) {
        const position = r * m.cols + m.colIdx[k]!;
        writeGolomb(bits, position - previous - 1, param);
        previous = position;
      }
    }
    const stream = bits.finish();
    out.u32(param);
    out.u32(stream.length);
    out.bytes(stream);
  } else {
    const rowWidth = narrowWidth(nnz);
    const colWidth = narrowWidth(Math.max(m.cols - 1, 0));
    out.u8(rowWidth);
    out.u8(colWidth);
    out.u16(0);
    for (const p of m.rowPtr) out.uint(p, rowWidth);
    for (const c of m.colIdx) out.uint(c, colWidth);
  }
  out.bytes(block.bytes);
  return out.finish();
}

/** Refuses what a reader would refuse: NaN or ±Infinity, and values that fp16 cannot hold. */
function checkFinite(values: Float32Array, precision: ValuePrecision, where: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || (precision === 'fp16' && !Number.isFinite(fromHalf(toHalf(v))))) {
      throw new InvalidArgumentError(
        `${where}: value ${i} is ${v}, which ${precision} cannot store as a finite number. ` +
          'Containers hold finite weights only; fix the model or choose fp32.',
      );
    }
  }
}

/** The weight section, choosing CSR or dense storage. */
function weightSection(
  w: WeightMatrix,
  options: Required<EncodeOptions>,
): { kind: number; payload: Uint8Array } {
  const dense = (m: DenseMatrix) => ({
    kind: SectionKind.dense,
    payload: denseSection([m.rows, m.cols], m.values, options.values),
  });
  const sparse = (m: CsrMatrix) => ({
    kind: SectionKind.csr,
    payload: csrSection(m, options.values, options.indices),
  });
  if (w.kind === 'dense' && !options.chooseSmaller) return dense(w);
  if (w.kind === 'csr' && !options.chooseSmaller) return sparse(w);
  const a = w.kind === 'dense' ? dense(w) : dense(toDense(w));
  const b = w.kind === 'csr' ? sparse(w) : sparse(toCsr(w));
  return b.payload.length < a.payload.length ? b : a;
}

type JsonNode = Record<string, unknown>;

/**
 * Encodes `graph` into the container's bytes. The graph is validated first (InvalidArgumentError or
 * ShapeMismatchError on a bad graph). Biases and BatchNorm parameters are always fp32; weight matrices use
 * `values`.
 */
export function encodeModel(graph: ModelGraph, options: EncodeOptions = {}): Uint8Array {
  validateGraph(graph, (message, problem) =>
    problem === 'shape' ? new ShapeMismatchError(message) : new InvalidArgumentError(message),
  );
  const settings: Required<EncodeOptions> = {
    values: options.values ?? 'fp32',
    indices: options.indices ?? 'golomb',
    chooseSmaller: options.chooseSmaller ?? true,
  };
  const sections: { kind: number; payload: Uint8Array }[] = [];
  const add = (section: { kind: number; payload: Uint8Array }): number => {
    sections.push(section);
    return sections.length; // section 0 is the topology
  };
  const vector = (v: Float32Array): number =>
    add({ kind: SectionKind.dense, payload: denseSection([v.length], v, 'fp32') });

  const nodes: JsonNode[] = graph.nodes.map((node: GraphNode): JsonNode => {
    switch (node.op) {
      case 'conv2d':
      case 'dense': {
        const { weight, bias, ...rest } = node;
        checkFinite(weight.values, settings.values, `${node.name} weight`);
        if (bias) checkFinite(bias, 'fp32', `${node.name} bias`);
        return {
          ...rest,
          weight: add(weightSection(weight, settings)),
          bias: bias === null ? null : vector(bias),
        };
      }
      case 'batchNorm': {
        const { gamma, beta, movingMean, movingVariance, ...rest } = node;
        for (const [key, v] of Object.entries({ gamma, beta, movingMean, movingVariance }))
          checkFinite(v, 'fp32', `${node.name} ${key}`);
        return {
          ...rest,
          gamma: vector(gamma),
          beta: vector(beta),
          movingMean: vector(movingMean),
          movingVariance: vector(movingVariance),
        };
      }
      default:
        return { ...node };
    }
  });
  const topology = new TextEncoder().encode(
    JSON.stringify({
      format: 'dynaprune-csr',
      valuePrecision: settings.values,
      nodes,
      output: graph.output,
      metadata: graph.metadata,
    }),
  );

  const out = new ByteWriter();
  const all = [{ kind: SectionKind.topology, payload: topology }, ...sections];
  const header = new ByteWriter();
  for (const b of MAGIC) header.u8(b);
  header.u16(FORMAT_VERSION);
  header.u16(0);
  header.u32(all.length);
  const head = header.finish();
  out.bytes(head);
  out.u32(crc32(head));
  if (out.length !== HEADER_BYTES) throw new Error('header layout drifted from HEADER_BYTES');
  for (const s of all) {
    out.u32(s.kind);
    out.u32(s.payload.length);
    out.bytes(s.payload);
    out.u32(crc32(s.payload));
    while (out.length % 4 !== 0) out.u8(0);
  }
  return out.finish();
}
