// The runtime's WebAssembly memory: a bump allocator with a ceiling, and the upload of weights into it.
import { MemoryLimitError } from '../errors.js';
import { denseValues, nonzeroCount, toCsr } from '../graph/matrix.js';
import type { CsrMatrix, WeightMatrix } from '../graph/types.js';

/**
 * The default ceiling on a network's WebAssembly memory (1 GiB): weights, activations and scratch together.
 * Far above the models here (WRN-16-2 needs a few MB), it stops a small file that declares huge activations
 * from taking gigabytes; `NetworkOptions.maxMemoryBytes` raises or lowers it.
 */
export const DEFAULT_MAX_MEMORY_BYTES = 2 ** 30;

const PAGE = 65536;
const GUARD_BYTES = 256;
/**
 * Floats kept free after every activation buffer and scratch area: the sparse conv kernel stores whole
 * SIMD blocks, up to 24 floats past the last pixel of a row (assembly/runtime/index.ts).
 */
export const STORE_SLACK_FLOATS = 32;
export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A bump allocator over a growable WebAssembly.Memory; offsets are 64-byte aligned. */
export class Arena {
  /** Keep 0 unused, so no buffer sits at the null address. */
  top = 64;
  constructor(
    readonly memory: WebAssembly.Memory,
    readonly limitBytes: number,
  ) {}

  /** Reserves `bytes` and returns their offset; throws MemoryLimitError, before growing, past the limit. */
  alloc(bytes: number, what: string): number {
    const at = roundUp(this.top, 64);
    const top = at + roundUp(Math.max(bytes, 4), 64);
    this.ensure(top, what);
    this.top = top;
    return at;
  }

  /**
   * Makes sure the memory holds `top` bytes, within the limit, plus a guard: SIMD kernels may read a few
   * vectors past their last buffer (into lanes they never store).
   */
  ensure(top: number, what: string): void {
    if (top > this.limitBytes) {
      throw new MemoryLimitError(
        `The network needs more than ${mib(top)} of memory (at ${what}), above the limit of ` +
          `${mib(this.limitBytes)}. If the model is genuine, raise it with { maxMemoryBytes }; ` +
          `otherwise the file declares shapes larger than any real model.`,
        top,
        this.limitBytes,
      );
    }
    const needed = top + GUARD_BYTES - this.memory.buffer.byteLength;
    if (needed > 0) this.memory.grow(Math.ceil(needed / PAGE));
  }

  /** A fresh view (growing the memory detaches the old ones). */
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Copies `data` into a new buffer and returns its offset. */
  upload(data: Float32Array | Uint32Array, what: string): number {
    const at = this.alloc(data.length * 4, what);
    const view = data instanceof Float32Array ? this.f32() : new Uint32Array(this.memory.buffer);
    view.set(data, at / 4);
    return at;
  }
}

/** A weight matrix in wasm memory, in the storage its density calls for; offsets in bytes. */
export type UploadedWeight =
  | {
      readonly kind: 'dense';
      readonly rows: number;
      readonly cols: number;
      readonly values: number;
      readonly bias: number;
    }
  | {
      readonly kind: 'csr';
      readonly rows: number;
      readonly cols: number;
      readonly rowPtr: number;
      /** Each nonzero's column index, or what the kernel reads in its place (a direct conv's input offsets). */
      readonly columns: number;
      readonly values: number;
      readonly bias: number;
    };

/** Whether a weight goes to wasm memory dense: at least `denseThreshold` of its entries are nonzero. */
export const storedDense = (w: WeightMatrix, denseThreshold: number): boolean =>
  nonzeroCount(w) >= denseThreshold * w.rows * w.cols;

/**
 * Uploads a conv or dense weight with its bias (zeros when null): dense storage when at least
 * `denseThreshold` of the entries are nonzero ({@link storedDense}), CSR otherwise.
 */
export function uploadWeight(
  arena: Arena,
  w: WeightMatrix,
  bias: Float32Array | null,
  denseThreshold: number,
  what: string,
): UploadedWeight {
  return storedDense(w, denseThreshold)
    ? uploadDense(arena, w, bias, what)
    : uploadCsr(arena, toCsr(w), bias, what);
}

/** Uploads `w` with its bias (zeros when null) as a dense row-major matrix. */
export function uploadDense(
  arena: Arena,
  w: WeightMatrix,
  bias: Float32Array | null,
  what: string,
): Extract<UploadedWeight, { kind: 'dense' }> {
  const { rows, cols } = w;
  const biasAt = uploadBias(arena, bias, rows, what);
  // Every entry is written, zeros included: fresh memory is zero, but a re-planned arena may not be.
  const values = arena.upload(denseValues(w), `${what} weight`);
  return { kind: 'dense', rows, cols, values, bias: biasAt };
}

/**
 * Uploads `csr` with its bias (zeros when null). `columns` replaces the column indices when the kernel
 * reads something else per nonzero (a direct conv's byte offsets), so the indices themselves take no memory.
 */
export function uploadCsr(
  arena: Arena,
  csr: CsrMatrix,
  bias: Float32Array | null,
  what: string,
  columns: Uint32Array = csr.colIdx,
): Extract<UploadedWeight, { kind: 'csr' }> {
  return {
    kind: 'csr',
    rows: csr.rows,
    cols: csr.cols,
    bias: uploadBias(arena, bias, csr.rows, what),
    rowPtr: arena.upload(csr.rowPtr, `${what} rowPtr`),
    columns: arena.upload(columns, `${what} columns`),
    values: arena.upload(csr.values, `${what} values`),
  };
}

const uploadBias = (arena: Arena, bias: Float32Array | null, rows: number, what: string): number =>
  arena.upload(bias ?? new Float32Array(rows), `${what} bias`);
