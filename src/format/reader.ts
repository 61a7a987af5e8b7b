// Bounds-checked little-endian field reads, and the element budget that caps what one file may allocate.
import { InvalidModelError, InvalidSizeError, TruncatedFileError } from './errors.js';

/** Reads little-endian fields with bounds checks that raise TruncatedFileError. */
export class Reader {
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
  /** A reserved field: FORMAT.md requires zero, and a reader refuses anything else. */
  reserved(bytes: 1 | 2 | 4, field: string): void {
    const v = bytes === 1 ? this.u8(field) : bytes === 2 ? this.u16(field) : this.u32(field);
    if (v !== 0)
      throw new InvalidModelError(this.source, `${this.what}: ${field} must be 0, found ${v}`);
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

/**
 * Counts the elements (values, indices, row pointers, scales) a decode allocates, and refuses, before the
 * allocation, any that would pass `limit`: the documented ceiling `maxElements` (FORMAT.md, "Limits").
 */
export class ElementBudget {
  private spent = 0;
  constructor(
    readonly limit: number,
    private readonly source: string,
  ) {}
  /** Total elements granted so far. */
  get used(): number {
    return this.spent;
  }
  spend(elements: number, where: string): void {
    if (!(elements <= this.limit - this.spent)) {
      throw new InvalidSizeError(
        this.source,
        `${where}: ${elements} more elements would pass the reader's ceiling of ${this.limit} ` +
          `(${this.spent} already decoded); raise maxElements if this model is genuinely that large`,
      );
    }
    this.spent += elements;
  }
}
