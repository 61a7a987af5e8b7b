// Reads the two tensor section kinds (dense, CSR): every size is checked against the bytes present and the
// element budget before anything is allocated, and every loop is bounded by those bytes.
import { inflateSync } from 'fflate';
import { BitReader } from './bits.js';
import { InvalidModelError, InvalidSizeError, NonFiniteValueError } from './errors.js';
import { readGolomb } from './golomb.js';
import type { CsrMatrix } from '../graph/types.js';
import { fromHalf } from './half.js';
import {
  DEFLATED_VALUES,
  IndexCoding,
  MAX_DEFLATE_RATIO,
  MAX_MATRIX_ELEMENTS,
  MAX_GOLOMB_PARAMETER,
  VALUE_BYTES,
  ValueType,
  type ValuePrecision,
} from './layout.js';
import { type ElementBudget, Reader } from './reader.js';

/** What every section reader needs: the file's name for messages, the budget, the value policy. */
export interface SectionContext {
  readonly source: string;
  readonly budget: ElementBudget;
  /** Accept NaN and ±Infinity among the values (default: refuse them). */
  readonly allowNonFinite: boolean;
}

/** A value-type byte: its precision, and whether the block is deflated. */
interface ValueType {
  readonly precision: ValuePrecision;
  readonly deflated: boolean;
}

function valueTypeOf(code: number, ctx: SectionContext, where: string): ValueType {
  const entry = Object.entries(ValueType).find(([, v]) => v === (code & ~DEFLATED_VALUES));
  if (!entry)
    throw new InvalidModelError(ctx.source, `${where}: unknown value type 0x${code.toString(16)}`);
  const type = { precision: entry[0] as ValuePrecision, deflated: (code & DEFLATED_VALUES) !== 0 };
  if (type.deflated && type.precision === 'int8')
    throw new InvalidModelError(ctx.source, `${where}: int8 values are never deflated (0x83)`);
  return type;
}

/**
 * Inflates a shuffled value block back to plain little-endian bytes in a new Reader. The output size is
 * known (count × width) and bounded by DEFLATE's maximum ratio before anything is allocated; a stream that
 * inflates to fewer or more bytes is refused (the buffer has one spare byte to catch "more").
 */
function inflateValues(
  r: Reader,
  count: number,
  width: number,
  ctx: SectionContext,
  where: string,
) {
  const length = r.u32(`${where} deflated length`);
  const packed = r.take(length, `${where} deflated values`);
  const expected = count * width;
  if (expected > length * MAX_DEFLATE_RATIO) {
    throw new InvalidSizeError(
      ctx.source,
      `${where}: ${length} deflated bytes cannot inflate to the ${expected} bytes of ${count} values`,
    );
  }
  const shuffled = new Uint8Array(expected + 1);
  let got: Uint8Array;
  try {
    got = inflateSync(packed, { out: shuffled });
  } catch (error) {
    throw new InvalidModelError(
      ctx.source,
      `${where}: the deflated values are corrupt (${(error as Error).message})`,
    );
  }
  if (got.length !== expected) {
    const found = got.length > expected ? 'more' : `${got.length}`;
    throw new InvalidModelError(
      ctx.source,
      `${where}: the deflated values inflate to ${found} bytes, expected exactly ${expected}`,
    );
  }
  const plain = new Uint8Array(expected);
  for (let i = 0; i < count; i++)
    for (let b = 0; b < width; b++) plain[i * width + b] = shuffled[b * count + i]!;
  return new Reader(plain, ctx.source, where);
}

/**
 * Reads `count` values at `precision`. int8 has one fp32 scale per row first; `rowOf(k)` gives entry k's
 * row through `rowStarts` (rows + 1 offsets, or undefined for `rows` equal rows of count / rows entries).
 */
function readPlainValues(
  r: Reader,
  count: number,
  precision: ValuePrecision,
  rows: number,
  rowStarts: Uint32Array | undefined,
  where: string,
): Float32Array {
  const out = new Float32Array(count);
  if (precision === 'fp32') {
    // Copy to an aligned buffer, then view it: much faster than a DataView per value.
    const aligned = new Uint8Array(r.take(count * 4, `${where} values`));
    const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (littleEndianHost) out.set(new Float32Array(aligned.buffer));
    else {
      const view = new DataView(aligned.buffer);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    }
  } else if (precision === 'fp16') {
    const raw = r.take(count * 2, `${where} values`);
    for (let i = 0; i < count; i++) out[i] = fromHalf(raw[2 * i]! | (raw[2 * i + 1]! << 8));
  } else {
    const rawScales = r.take(rows * 4, `${where} int8 scales`);
    const view = new DataView(rawScales.buffer, rawScales.byteOffset, rawScales.byteLength);
    const bytes = r.take(count, `${where} int8 values`);
    const perRow = rows === 0 ? 0 : count / rows;
    for (let k = 0; k < rows; k++) {
      const scale = view.getFloat32(k * 4, true);
      const start = rowStarts ? rowStarts[k]! : k * perRow;
      const end = rowStarts ? rowStarts[k + 1]! : (k + 1) * perRow;
      // i8 · scale is exact in binary64 (8 + 24 significant bits), then rounded once to binary32.
      for (let i = start; i < end; i++) out[i] = ((bytes[i]! << 24) >> 24) * scale;
    }
  }
  return out;
}

/** The value block of `count` values (plain or deflated), checked finite unless the caller allows. */
function readValueBlock(
  r: Reader,
  count: number,
  type: ValueType,
  rows: number,
  rowStarts: Uint32Array | undefined,
  ctx: SectionContext,
  where: string,
): Float32Array {
  const width = VALUE_BYTES[type.precision];
  const block = type.deflated ? inflateValues(r, count, width, ctx, where) : r;
  const values = readPlainValues(block, count, type.precision, rows, rowStarts, where);
  if (!ctx.allowNonFinite) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!))
        throw new NonFiniteValueError(ctx.source, where, i, values[i]!);
    }
  }
  return values;
}

/** Product of `dims`, refusing past MAX_MATRIX_ELEMENTS as soon as a partial product passes it. */
function elementCount(dims: readonly number[], ctx: SectionContext, where: string): number {
  let size = 1;
  for (const d of dims) {
    if (d < 1) throw new InvalidSizeError(ctx.source, `${where}: dimension ${d} is not at least 1`);
    size *= d;
    if (size > MAX_MATRIX_ELEMENTS) {
      throw new InvalidSizeError(
        ctx.source,
        `${where}: dims ${dims.join('x')} pass the format's limit of 2^31 elements per tensor`,
      );
    }
  }
  return size;
}

/** A dense tensor section (kind 2): its dims and row-major values. */
export function readDense(
  payload: Uint8Array,
  ctx: SectionContext,
  where: string,
): { dims: number[]; values: Float32Array; precision: ValuePrecision } {
  const r = new Reader(payload, ctx.source, where);
  const type = valueTypeOf(r.u8('value type'), ctx, where);
  const rank = r.u8('rank');
  r.reserved(2, 'reserved field (bytes 2-3)');
  if (rank < 1 || rank > 4)
    throw new InvalidModelError(ctx.source, `${where}: rank ${rank} is not 1 to 4`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(r.u32('dimension'));
  const size = elementCount(dims, ctx, where);
  const rows = rank > 1 ? dims[0]! : 1;
  const width = VALUE_BYTES[type.precision];
  const needed = size * width + (type.precision === 'int8' ? rows * 4 : 0);
  if (!type.deflated && needed !== r.remaining) {
    throw new InvalidSizeError(
      ctx.source,
      `${where}: dims ${dims.join('x')} at ${type.precision} need ${needed} bytes, the section holds ${r.remaining}`,
    );
  }
  if (type.deflated && needed > Math.max(r.remaining - 4, 0) * MAX_DEFLATE_RATIO) {
    throw new InvalidSizeError(
      ctx.source,
      `${where}: ${r.remaining} bytes of deflated values cannot inflate to the ${needed} bytes of dims ${dims.join('x')}`,
    );
  }
  ctx.budget.spend(size + (type.precision === 'int8' ? rows : 0), where);
  const values = readValueBlock(r, size, type, rows, undefined, ctx, where);
  if (r.remaining !== 0)
    throw new InvalidSizeError(ctx.source, `${where}: ${r.remaining} unexplained bytes at the end`);
  return { dims, values, precision: type.precision };
}

/** Golomb-coded gaps (index coding 1) into rowPtr and colIdx; returns nothing, fills the arrays. */
function readGolombIndices(
  r: Reader,
  m: { rows: number; cols: number; nnz: number },
  rowPtr: Uint32Array,
  colIdx: Uint32Array,
  ctx: SectionContext,
  where: string,
): void {
  const param = r.u32('Golomb parameter');
  const length = r.u32('index stream length');
  if (param < 1 || param > MAX_GOLOMB_PARAMETER)
    throw new InvalidModelError(ctx.source, `${where}: Golomb parameter ${param} is not 1 to 2^24`);
  const stream = new BitReader(r.take(length, 'index stream'));
  const total = m.rows * m.cols;
  // Integer division: a quotient above floor(rows·cols / m) already puts the entry outside the matrix.
  const maxQuotient = Math.floor(total / param);
  let position = -1;
  let row = 0;
  for (let k = 0; k < m.nnz; k++) {
    const gap = readGolomb(stream, param, maxQuotient);
    if (gap < 0)
      throw new InvalidModelError(
        ctx.source,
        `${where}: the index stream ends or is corrupt at nonzero ${k}`,
      );
    position += gap + 1;
    if (position >= total)
      throw new InvalidModelError(
        ctx.source,
        `${where}: nonzero ${k} falls outside the ${m.rows}x${m.cols} matrix`,
      );
    const rowOf = Math.floor(position / m.cols);
    while (row < rowOf) rowPtr[++row] = k;
    colIdx[k] = position - rowOf * m.cols;
  }
  while (row < m.rows) rowPtr[++row] = m.nnz;
  // The stream is exactly as long as its codes: at most 7 padding bits, all zero.
  const left = stream.remaining;
  if (left >= 8 || stream.readBits(left) !== 0) {
    throw new InvalidModelError(
      ctx.source,
      `${where}: the index stream has ${left} bits after the last code; at most 7 zero padding bits are allowed`,
    );
  }
}

/** Narrow rowPtr and colIdx (index coding 2), their byte count checked before the caller allocated. */
function readNarrowIndices(
  r: Reader,
  widths: { row: number; col: number },
  rowPtr: Uint32Array,
  colIdx: Uint32Array,
  ctx: SectionContext,
  where: string,
): void {
  const rows = rowPtr.length - 1;
  const nnz = colIdx.length;
  for (let i = 0; i <= rows; i++) rowPtr[i] = r.uint(widths.row, 'rowPtr');
  for (let i = 0; i < nnz; i++) colIdx[i] = r.uint(widths.col, 'colIdx');
  if (rowPtr[0] !== 0 || rowPtr[rows] !== nnz)
    throw new InvalidModelError(ctx.source, `${where}: rowPtr must run from 0 to ${nnz}`);
  for (let i = 0; i < rows; i++) {
    if (rowPtr[i + 1]! < rowPtr[i]!)
      throw new InvalidModelError(ctx.source, `${where}: rowPtr decreases at row ${i}`);
  }
}

/** A CSR matrix section (kind 3). */
export function readCsr(
  payload: Uint8Array,
  ctx: SectionContext,
  where: string,
): CsrMatrix & { precision: ValuePrecision } {
  const r = new Reader(payload, ctx.source, where);
  const rows = r.u32('rows');
  const cols = r.u32('cols');
  const nnz = r.u32('nnz');
  const coding = r.u8('index coding');
  const type = valueTypeOf(r.u8('value type'), ctx, where);
  r.reserved(2, 'reserved field (bytes 14-15)');
  elementCount([rows, cols], ctx, where);
  if (nnz > rows * cols)
    throw new InvalidSizeError(
      ctx.source,
      `${where}: ${nnz} nonzeros in a ${rows}x${cols} matrix is impossible`,
    );
  // Each nonzero costs its value bytes (or 1/1032 of them deflated) and at least one index bit.
  const width = VALUE_BYTES[type.precision];
  const valueBytes = type.deflated ? (nnz * width) / MAX_DEFLATE_RATIO : nnz * width;
  if (valueBytes + nnz / 8 > r.remaining) {
    throw new InvalidSizeError(
      ctx.source,
      `${where}: ${nnz} nonzeros need at least ${Math.ceil(valueBytes + nnz / 8)} bytes, only ${r.remaining} remain`,
    );
  }
  let widths: { row: number; col: number } | undefined;
  if (coding === IndexCoding.narrow) {
    widths = { row: r.u8('rowPtr width'), col: r.u8('colIdx width') };
    r.reserved(2, 'reserved field of the narrow index block');
    if (![1, 2, 4].includes(widths.row) || ![1, 2, 4].includes(widths.col)) {
      throw new InvalidModelError(
        ctx.source,
        `${where}: index widths ${widths.row}/${widths.col} are not 1, 2 or 4`,
      );
    }
    r.need((rows + 1) * widths.row + nnz * widths.col, 'indices');
  } else if (coding !== IndexCoding.golomb) {
    throw new InvalidModelError(ctx.source, `${where}: unknown index coding ${coding}`);
  }
  ctx.budget.spend(rows + 1 + 2 * nnz + (type.precision === 'int8' ? rows : 0), where);
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx = new Uint32Array(nnz);
  if (widths) readNarrowIndices(r, widths, rowPtr, colIdx, ctx, where);
  else readGolombIndices(r, { rows, cols, nnz }, rowPtr, colIdx, ctx, where);
  const values = readValueBlock(r, nnz, type, rows, rowPtr, ctx, where);
  if (r.remaining !== 0)
    throw new InvalidSizeError(ctx.source, `${where}: ${r.remaining} unexplained bytes at the end`);
  return { kind: 'csr', rows, cols, rowPtr, colIdx, values, precision: type.precision };
}
