// An independent ONNX reader for the tests: protobuf wire format -> the few ModelProto fields the exporter uses.
//
// Written from onnx.proto's field numbers without the exporter's code, so a field written under the wrong
// number or wire type shows up as a missing or garbled value here.

export interface ReadTensor {
  readonly name: string;
  readonly dims: number[];
  readonly data: Float32Array;
}

export interface ReadNode {
  readonly opType: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: Map<string, number | number[]>;
}

export interface ReadModel {
  readonly irVersion: number;
  readonly opsets: { domain: string; version: number }[];
  readonly producerName: string;
  readonly nodes: ReadNode[];
  /** Dense and sparse initializers, all as dense tensors. */
  readonly initializers: Map<string, ReadTensor>;
  readonly sparseInitializerNames: string[];
  readonly inputs: { name: string; dims: (number | string)[] }[];
  readonly outputs: { name: string; dims: (number | string)[] }[];
  readonly metadata: Map<string, string>;
}

interface Field {
  readonly field: number;
  readonly wireType: number;
  /** varint value, fixed32 bits as a float, or the bytes of a length-delimited field. */
  readonly value: number | Uint8Array;
}

function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return result;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) fields.push({ field, wireType, value: varint() });
    else if (wireType === 5) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, 4);
      fields.push({ field, wireType, value: view.getFloat32(0, true) });
      at += 4;
    } else if (wireType === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error('truncated length-delimited field');
      fields.push({ field, wireType, value: bytes.subarray(at, at + length) });
      at += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  return fields;
}

const decoder = new TextDecoder();
const all = (fields: Field[], n: number) => fields.filter((f) => f.field === n).map((f) => f.value);
const text = (fields: Field[], n: number): string => {
  const v = all(fields, n).at(-1);
  return v instanceof Uint8Array ? decoder.decode(v) : '';
};
const num = (fields: Field[], n: number): number => {
  const v = all(fields, n).at(-1);
  if (typeof v !== 'number') throw new Error(`field ${n}: expected a number`);
  return v;
};
const messages = (fields: Field[], n: number): Field[][] =>
  all(fields, n).map((v) => readFields(v as Uint8Array));

function readTensor(fields: Field[]): {
  name: string;
  dims: number[];
  raw: Uint8Array;
  type: number;
} {
  const raw = all(fields, 9).at(-1);
  if (!(raw instanceof Uint8Array)) throw new Error('tensor without raw_data');
  return { name: text(fields, 8), dims: all(fields, 1) as number[], raw, type: num(fields, 2) };
}

function floatsOf(raw: Uint8Array): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  return Float32Array.from({ length: raw.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function sparseToDense(fields: Field[]): ReadTensor {
  const values = readTensor(messages(fields, 1)[0]!);
  const indices = readTensor(messages(fields, 2)[0]!);
  if (values.type !== 1 || indices.type !== 7) throw new Error('sparse tensor: wrong data types');
  const dims = all(fields, 3) as number[];
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const v = floatsOf(values.raw);
  const view = new DataView(indices.raw.buffer, indices.raw.byteOffset, indices.raw.length);
  let previous = -1;
  v.forEach((value, k) => {
    const index = Number(view.getBigInt64(k * 8, true));
    if (index <= previous) throw new Error('sparse indices must ascend');
    previous = index;
    data[index] = value;
  });
  return { name: values.name, dims, data };
}

function readAttribute(fields: Field[]): [string, number | number[]] {
  const type = num(fields, 20);
  const name = text(fields, 1);
  if (type === 1) return [name, num(fields, 2)];
  if (type === 2) return [name, num(fields, 3)];
  if (type === 7) return [name, all(fields, 8) as number[]];
  throw new Error(`attribute ${name}: unexpected type ${type}`);
}

function readValueInfo(fields: Field[]): { name: string; dims: (number | string)[] } {
  const tensorType = messages(messages(fields, 2)[0]!, 1)[0]!;
  if (num(tensorType, 1) !== 1) throw new Error('value info: not FLOAT');
  const dims = messages(messages(tensorType, 2)[0]!, 1).map((d) =>
    all(d, 2).length > 0 ? text(d, 2) : num(d, 1),
  );
  return { name: text(fields, 1), dims };
}

/** Decodes the ModelProto fields that dynaprune's exporter writes. */
export function readOnnxModel(bytes: Uint8Array): ReadModel {
  const model = readFields(bytes);
  const graph = messages(model, 7)[0]!;
  const initializers = new Map<string, ReadTensor>();
  for (const t of messages(graph, 5)) {
    const { name, dims, raw, type } = readTensor(t);
    if (type !== 1) throw new Error(`initializer ${name}: not FLOAT`);
    initializers.set(name, { name, dims, data: floatsOf(raw) });
  }
  const sparse = messages(graph, 15).map(sparseToDense);
  for (const t of sparse) initializers.set(t.name, t);
  return {
    irVersion: num(model, 1),
    opsets: messages(model, 8).map((o) => ({ domain: text(o, 1), version: num(o, 2) })),
    producerName: text(model, 2),
    nodes: messages(graph, 1).map((n) => ({
      opType: text(n, 4),
      inputs: all(n, 1).map((v) => decoder.decode(v as Uint8Array)),
      outputs: all(n, 2).map((v) => decoder.decode(v as Uint8Array)),
      attributes: new Map(messages(n, 5).map(readAttribute)),
    })),
    initializers,
    sparseInitializerNames: sparse.map((t) => t.name),
    inputs: messages(graph, 11).map(readValueInfo),
    outputs: messages(graph, 12).map(readValueInfo),
    metadata: new Map(messages(model, 14).map((e) => [text(e, 1), text(e, 2)])),
  };
}
