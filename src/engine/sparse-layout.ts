// The compressed index layout of a masked kernel, kept in tfjs-wasm's heap for the sparse training kernels.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataId } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';

/** An int32 array living in the wasm heap outside any tensor (so it never shows in tf.memory()). */
class HeapInts {
  private dataId: DataId | null;

  constructor(
    private readonly backend: BackendWasm,
    values: Int32Array,
  ) {
    // tfjs-wasm cannot allocate 0 bytes meaningfully; one spare int keeps every offset valid.
    const data = values.length > 0 ? values : new Int32Array(1);
    this.dataId = backend.write(data, [data.length], 'int32');
  }

  get offset(): number {
    if (this.dataId === null) throw new Error('a disposed sparse layout was used');
    return this.backend.dataIdMap.get(this.dataId)!.memoryOffset;
  }

  dispose(): void {
    if (this.dataId !== null) this.backend.disposeData(this.dataId, true);
    this.dataId = null;
  }
}

/**
 * The active positions of a kernel viewed as a [K, CO] matrix (K = KH·KW·CI for a convolution, the input
 * features for a dense layer), in two orders:
 * - CSR over output channels: `rowPtr` (CO + 1 entries) and `colIdx` (the k of each entry, ascending), for
 *   the forward pass and the weight gradient;
 * - CSC, i.e. CSR over k: `cscPtr` (K + 1) and `cscRow` (the co of each entry), for the input gradient.
 * Values are not stored here: the kernels gather them from the kernel variable in each order, so the
 * variable stays the one copy of the weights. Built once per mask change; {@link dispose} frees the heap.
 */
export class SparseLayout {
  readonly nnz: number;
  readonly rowPtr: HeapInts;
  readonly colIdx: HeapInts;
  readonly cscPtr: HeapInts;
  readonly cscRow: HeapInts;

  constructor(
    readonly backend: BackendWasm,
    mask: ArrayLike<number>,
    readonly k: number,
    readonly co: number,
  ) {
    if (mask.length !== k * co) {
      throw new InvalidArgumentError(
        `A sparse layout of ${k} x ${co} needs a mask of ${k * co} values, got ${mask.length}.`,
      );
    }
    const rowCount = new Int32Array(co + 1);
    const colCount = new Int32Array(k + 1);
    let nnz = 0;
    for (let kk = 0, i = 0; kk < k; kk++) {
      for (let c = 0; c < co; c++, i++) {
        if (mask[i] === 0) continue;
        rowCount[c + 1]!++;
        colCount[kk + 1]!++;
        nnz++;
      }
    }
    for (let r = 0; r < co; r++) rowCount[r + 1]! += rowCount[r]!;
    for (let c = 0; c < k; c++) colCount[c + 1]! += colCount[c]!;
    const colIdx = new Int32Array(nnz);
    const cscRow = new Int32Array(nnz);
    const rowFill = rowCount.slice(0, co);
    const colFill = colCount.slice(0, k);
    // Row-major [K, CO]: visiting i in order gives ascending k within each CSR row and ascending co within
    // each CSC row.
    for (let kk = 0, i = 0; kk < k; kk++) {
      for (let c = 0; c < co; c++, i++) {
        if (mask[i] === 0) continue;
        colIdx[rowFill[c]!++] = kk;
        cscRow[colFill[kk]!++] = c;
      }
    }
    this.nnz = nnz;
    this.rowPtr = new HeapInts(backend, rowCount);
    this.colIdx = new HeapInts(backend, colIdx);
    this.cscPtr = new HeapInts(backend, colCount);
    this.cscRow = new HeapInts(backend, cscRow);
  }

  /** nnz / (K · CO). */
  get density(): number {
    return this.nnz / (this.k * this.co);
  }

  dispose(): void {
    this.rowPtr.dispose();
    this.colIdx.dispose();
    this.cscPtr.dispose();
    this.cscRow.dispose();
  }
}
