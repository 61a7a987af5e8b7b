// Weight matrices: CSR/dense conversion, nonzero counts, row scaling and the structural checks of both kinds.
import type { CsrMatrix, DenseMatrix, WeightMatrix } from './types.js';

/** What went wrong: a broken structure (names, references, CSR arrays) or a shape clash. */
export type GraphProblem = 'structure' | 'shape';

/** Builds the error to throw; the encoder, the decoder and the runtime each use their own classes. */
export type ErrorFactory = (message: string, problem: GraphProblem) => Error;

/** How many entries of `m` are nonzero (for CSR, the stored entries). */
export function nonzeroCount(m: WeightMatrix): number {
  if (m.kind === 'csr') return m.values.length;
  let nnz = 0;
  for (const v of m.values) if (v !== 0) nnz++;
  return nnz;
}

/** The dense row-major values of a weight matrix (the matrix's own array when it is dense). */
export function denseValues(m: WeightMatrix): Float32Array {
  if (m.kind === 'dense') return m.values;
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.rowPtr[r]!; k < m.rowPtr[r + 1]!; k++)
      out[r * m.cols + m.colIdx[k]!] = m.values[k]!;
  }
  return out;
}

export function toDense(m: WeightMatrix): DenseMatrix {
  return m.kind === 'dense'
    ? m
    : { kind: 'dense', rows: m.rows, cols: m.cols, values: denseValues(m) };
}

/** `m` in CSR, keeping only its nonzero entries when it is dense. */
export function toCsr(m: WeightMatrix): CsrMatrix {
  if (m.kind === 'csr') return m;
  const rowPtr = new Uint32Array(m.rows + 1);
  const nnz = nonzeroCount(m);
  const colIdx = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c]!;
      if (v !== 0) {
        colIdx[k] = c;
        values[k++] = v;
      }
    }
    rowPtr[r + 1] = k;
  }
  return { kind: 'csr', rows: m.rows, cols: m.cols, rowPtr, colIdx, values };
}

/** `m` with row r multiplied by scale[r], in the same storage. */
export function scaleRows(m: WeightMatrix, scale: Float32Array): WeightMatrix {
  const values = new Float32Array(m.values.length);
  if (m.kind === 'dense') {
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c++)
        values[r * m.cols + c] = m.values[r * m.cols + c]! * scale[r]!;
    }
    return { ...m, values };
  }
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.rowPtr[r]!; k < m.rowPtr[r + 1]!; k++) values[k] = m.values[k]! * scale[r]!;
  }
  return { ...m, values };
}

/** Checks that `w` is a well-formed rows × cols matrix: array lengths, and for CSR the textbook invariants. */
export function checkMatrix(
  w: WeightMatrix,
  rows: number,
  cols: number,
  where: string,
  fail: ErrorFactory,
): void {
  if (w === null || typeof w !== 'object')
    throw fail(`${where}: missing weight matrix`, 'structure');
  if (w.rows !== rows || w.cols !== cols) {
    throw fail(`${where}: weight is ${w.rows}x${w.cols}, expected ${rows}x${cols}`, 'shape');
  }
  if (w.kind === 'dense') {
    if (!(w.values instanceof Float32Array) || w.values.length !== rows * cols) {
      throw fail(`${where}: dense weight needs ${rows * cols} values`, 'structure');
    }
    return;
  }
  if (w.kind !== 'csr') throw fail(`${where}: unknown weight kind`, 'structure');
  const { rowPtr, colIdx, values } = w;
  if (rowPtr.length !== rows + 1 || rowPtr[0] !== 0)
    throw fail(`${where}: rowPtr must have ${rows + 1} entries starting at 0`, 'structure');
  const nnz = rowPtr[rows]!;
  if (colIdx.length !== nnz || values.length !== nnz) {
    throw fail(
      `${where}: rowPtr ends at ${nnz} but there are ${colIdx.length} column indices and ${values.length} values`,
      'structure',
    );
  }
  for (let r = 0; r < rows; r++) {
    const start = rowPtr[r]!;
    const end = rowPtr[r + 1]!;
    if (end < start || end > nnz)
      throw fail(`${where}: rowPtr is not monotone at row ${r}`, 'structure');
    for (let k = start; k < end; k++) {
      const c = colIdx[k]!;
      if (c >= cols)
        throw fail(`${where}: column index ${c} in row ${r} is not below ${cols}`, 'structure');
      if (k > start && c <= colIdx[k - 1]!)
        throw fail(`${where}: column indices of row ${r} are not strictly increasing`, 'structure');
    }
  }
}

/** Checks that `v` is a Float32Array of `length` values. */
export function checkVector(v: unknown, length: number, where: string, fail: ErrorFactory): void {
  if (!(v instanceof Float32Array)) throw fail(`${where}: missing`, 'structure');
  if (v.length !== length)
    throw fail(`${where}: has ${v.length} values, expected ${length}`, 'shape');
}
