// Bit-level writer and reader (least significant bit first within each byte) for Golomb-coded indices.

export class BitWriter {
  private bytes: Uint8Array = new Uint8Array(1024);
  private length = 0;
  private current = 0;
  private used = 0;

  private push(byte: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = byte;
  }

  /** Appends the `count` (≤ 24) low bits of `value`, least significant first. */
  writeBits(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.writeBit((value >>> i) & 1);
  }

  writeBit(bit: number): void {
    this.current |= (bit & 1) << this.used;
    if (++this.used === 8) {
      this.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  /** The bytes written, the last one padded with zero bits. */
  finish(): Uint8Array {
    if (this.used > 0) {
      this.push(this.current);
      this.current = 0;
      this.used = 0;
    }
    return this.bytes.slice(0, this.length);
  }
}

export class BitReader {
  private position = 0;
  private readonly limit: number;
  /** The stream followed by four zero bytes, so that peek24 never reads out of bounds (slow in V8). */
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.limit = bytes.length * 8;
    this.bytes = new Uint8Array(bytes.length + 4);
    this.bytes.set(bytes);
  }

  /** Bits not read yet. */
  get remaining(): number {
    return this.limit - this.position;
  }

  /** Reads one bit, or returns -1 past the end (the caller turns that into a typed error). */
  readBit(): number {
    if (this.position >= this.limit) return -1;
    const bit = (this.bytes[this.position >>> 3]! >>> (this.position & 7)) & 1;
    this.position++;
    return bit;
  }

  /** Reads `count` (≤ 24) bits, least significant first, or -1 past the end. */
  readBits(count: number): number {
    if (this.position + count > this.limit) return -1;
    const value = count === 0 ? 0 : this.peek24() & (0xffffff >>> (24 - count));
    this.position += count;
    return value;
  }

  /**
   * The next 24 bits without consuming them (bit 0 is the next bit); bits past the end read as 0, so
   * callers check `remaining` before they `skip`.
   */
  peek24(): number {
    const at = this.position >>> 3;
    const b = this.bytes;
    const word = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
    return (word >>> (this.position & 7)) & 0xffffff;
  }

  /** Consumes `count` bits already examined with peek24 (the caller has checked `remaining`). */
  skip(count: number): void {
    this.position += count;
  }
}

/** REVERSED_BYTE[b] is b with its 8 bits in reverse order. */
const REVERSED_BYTE = Uint8Array.from({ length: 256 }, (_, b) => {
  let r = 0;
  for (let i = 0; i < 8; i++) r |= ((b >>> i) & 1) << (7 - i);
  return r;
});

/** The low `count` (≤ 24) bits of `bits` in reverse order: turns LSB-first stream bits into an MSB-first number. */
export function reverseBits(bits: number, count: number): number {
  const reversed =
    (REVERSED_BYTE[bits & 0xff]! << 16) |
    (REVERSED_BYTE[(bits >>> 8) & 0xff]! << 8) |
    REVERSED_BYTE[(bits >>> 16) & 0xff]!;
  return count === 0 ? 0 : reversed >>> (24 - count);
}
