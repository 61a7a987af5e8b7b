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

  constructor(private readonly bytes: Uint8Array) {
    this.limit = bytes.length * 8;
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
    let value = 0;
    for (let i = 0; i < count; i++) value |= this.readBit() << i;
    return value >>> 0;
  }
}
