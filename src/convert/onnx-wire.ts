// A minimal Protocol Buffers writer: the wire format subset that ONNX's ModelProto needs, nothing more.
//
// Why hand-written: ONNX needs five wire features (varints, fixed32 floats, UTF-8 strings, bytes, nested
// messages); a full protobuf library with a schema compiler would add more code than it saves. Fields are
// written in the order they are called; a nested message is built by its own writer and embedded as bytes.

const textEncoder = new TextEncoder();

/** Wire types of the encoding (protobuf's "encoding" spec). */
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  /** An int32/int64/enum field; negative values take the ten-byte two's complement form, as protobuf says. */
  int(field: number, value: number): this {
    this.tag(field, VARINT);
    this.varint(value);
    return this;
  }

  /** Each value as its own int64 field (proto2's default for repeated scalars, which ONNX's schema keeps). */
  ints(field: number, values: readonly number[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  /** A float field (fixed32, little-endian IEEE 754). */
  float(field: number, value: number): this {
    this.tag(field, FIXED32);
    this.reserve(4);
    new DataView(this.buffer.buffer).setFloat32(this.length, value, true);
    this.length += 4;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    this.append(value);
    return this;
  }

  /** A nested message, built by `build` on a fresh writer. */
  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** The bytes written so far (a copy trimmed to length). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** Base-128 varint, least significant group first; arithmetic, not bit operators, which truncate to 32 bits. */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value))
      throw new RangeError(`protobuf varint: ${value} is not a safe integer`);
    this.reserve(10);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      for (let i = 0; i < 9; i++, v >>= 7n) this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      this.buffer[this.length++] = Number(v);
      return;
    }
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  private append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** The little-endian bytes of `values` (TensorProto.raw_data's layout for FLOAT). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** The little-endian bytes of `values` as int64 (TensorProto.raw_data's layout for INT64). */
export function int64Bytes(values: readonly number[] | Uint32Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return out;
}
