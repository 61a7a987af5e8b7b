// The few ONNX messages dynaprune writes (ModelProto and what it holds), as plain data, and their encoding.
//
// Field numbers are those of onnx/onnx.proto (proto2). Only FLOAT tensors are written, as raw_data
// (little-endian), and INT64 ones for sparse indices. See docs/ONNX.md for what the exporter emits.
import { float32Bytes, int64Bytes, ProtoWriter } from './onnx-wire.js';

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** AttributeProto.AttributeType values used here. */
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** A node attribute: one int, one float or a list of ints (all the ops emitted need no more). */
export type OnnxAttribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly ints: readonly number[] };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
}

/** A FLOAT constant. `sparse`: stored as a SparseTensorProto of its nonzeros (linearized INT64 indices). */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  /** Row-major, dims' product values. */
  readonly values: Float32Array;
  readonly sparse: boolean;
}

/** A graph input or output: a FLOAT tensor; a string dimension is symbolic (the batch). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** ModelProto.metadata_props, in order. */
  readonly metadata: readonly (readonly [string, string])[];
}

/** The ModelProto bytes of `model`. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.string(6, model.docString);
  w.message(7, (g) => writeGraph(g, model));
  w.message(8, (opset) => opset.string(1, '').int(2, model.opsetVersion));
  for (const [key, value] of model.metadata)
    w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}

function writeGraph(w: ProtoWriter, model: OnnxModel): void {
  for (const node of model.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, model.graphName);
  for (const init of model.initializers) {
    if (init.sparse) w.message(15, (s) => writeSparseTensor(s, init));
    else
      w.message(5, (t) =>
        writeTensor(t, init.name, init.dims, ONNX_FLOAT, float32Bytes(init.values)),
      );
  }
  for (const input of model.inputs) w.message(11, (v) => writeValueInfo(v, input));
  for (const output of model.outputs) w.message(12, (v) => writeValueInfo(v, output));
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name);
  w.string(4, node.opType);
  for (const attribute of node.attributes) w.message(5, (a) => writeAttribute(a, attribute));
}

function writeAttribute(w: ProtoWriter, attribute: OnnxAttribute): void {
  w.string(1, attribute.name);
  if ('int' in attribute) w.int(20, ATTRIBUTE_INT).int(3, attribute.int);
  else if ('float' in attribute) w.int(20, ATTRIBUTE_FLOAT).float(2, attribute.float);
  else w.int(20, ATTRIBUTE_INTS).ints(8, attribute.ints);
}

/** A TensorProto with its data as raw_data (little-endian, as the schema requires). */
function writeTensor(
  w: ProtoWriter,
  name: string,
  dims: readonly number[],
  dataType: number,
  rawData: Uint8Array,
): void {
  w.ints(1, dims);
  w.int(2, dataType);
  w.string(8, name);
  w.bytes(9, rawData);
}

/** SparseTensorProto: values [nnz], indices [nnz] (linearized, ascending), dims of the dense tensor. */
function writeSparseTensor(w: ProtoWriter, init: OnnxInitializer): void {
  const indices: number[] = [];
  const values: number[] = [];
  init.values.forEach((v, i) => {
    if (v !== 0) {
      indices.push(i);
      values.push(v);
    }
  });
  w.message(1, (t) =>
    writeTensor(t, init.name, [values.length], ONNX_FLOAT, float32Bytes(Float32Array.from(values))),
  );
  w.message(2, (t) =>
    writeTensor(t, `${init.name}.indices`, [indices.length], ONNX_INT64, int64Bytes(indices)),
  );
  w.ints(3, init.dims);
}

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ONNX_FLOAT);
      tensor.message(2, (shape) => {
        for (const d of info.dims)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}
