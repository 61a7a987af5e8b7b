// The size report of a container: per layer, and against the dense, gzipped-dense and i.i.d.-entropy yardsticks.
import { gzipSync } from 'fflate';
import { decodeModelDetailed, type DecodeOptions } from './decode.js';
import { nonzeroCount } from '../graph/matrix.js';
import type { ModelGraph } from '../graph/types.js';
import { MAX_DEFLATE_RATIO, type ValuePrecision } from './layout.js';

/** Above this many dense float32 bytes the gzipped-dense yardstick is not computed (it would need them all). */
export const MAX_GZIP_YARDSTICK_BYTES = 2 ** 27;

/**
 * Nor above this many times the container's bytes: DEFLATE's largest ratio, the most dense bytes a file can
 * justify (FORMAT.md bounds inflating by it too). A 300-byte file with an empty 8,192 x 4,096 layer would
 * otherwise make the report build and gzip 128 MiB (2.1 s of CPU); real containers are 10-1000x smaller
 * than their dense models.
 */
export const MAX_GZIP_YARDSTICK_RATIO = MAX_DEFLATE_RATIO;

export interface LayerReport {
  readonly name: string;
  readonly op: 'conv2d' | 'dense';
  /** [out, in, kh, kw] for conv2d, [out, in] for dense. */
  readonly shape: readonly number[];
  readonly size: number;
  readonly nnz: number;
  readonly sparsity: number;
  readonly storage: 'csr' | 'dense';
  /** Bytes of the weight's section, framing included (the bias is counted separately). */
  readonly bytes: number;
  /** bytes × 8 / nnz (0 for a layer without nonzeros). */
  readonly bitsPerNonzero: number;
}

export interface ContainerReport {
  readonly layers: readonly LayerReport[];
  readonly valuePrecision: ValuePrecision;
  /** The container's size on disk. */
  readonly containerBytes: number;
  /** Weight sections only (what CSR compresses). */
  readonly weightBytes: number;
  readonly weightNnz: number;
  readonly weightSize: number;
  /** weightBytes × 8 / weightNnz. */
  readonly bitsPerNonzero: number;
  /** Every parameter (weights with zeros, biases, BatchNorm) as dense float32. */
  readonly denseFp32Bytes: number;
  /**
   * The same dense float32 bytes, gzipped at level 9: what tfmot tells its users to do. Null when the
   * dense model passes MAX_GZIP_YARDSTICK_BYTES or MAX_GZIP_YARDSTICK_RATIO times the container (it is
   * not materialized just to be compressed).
   */
  readonly gzippedDenseBytes: number | null;
  /**
   * A reference point, not a bound: H(d) bits per weight for each mask, as if its nonzeros were placed
   * independently at the layer's density d, plus the raw value bits (32, 16 or 8, and int8's scales not
   * counted) per nonzero, plus 32 bits per other parameter. Containers go below it: real masks are not
   * i.i.d. and deflated values take fewer than 32 bits.
   */
  readonly iidEntropyBytes: number;
}

/** Binary entropy in bits. */
export function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Counts of every parameter: weight elements (zeros included) and the rest. */
function parameterCount(graph: ModelGraph): number {
  let n = 0;
  for (const node of graph.nodes) {
    if (node.op === 'conv2d' || node.op === 'dense')
      n += node.weight.rows * node.weight.cols + (node.bias?.length ?? 0);
    else if (node.op === 'batchNorm') n += 4 * node.gamma.length;
  }
  return n;
}

/** Every parameter as dense little-endian float32, in node order, gzipped at level 9. */
function gzippedDense(graph: ModelGraph, totalParams: number): number {
  const joined = new Uint8Array(totalParams * 4);
  const view = new DataView(joined.buffer);
  let at = 0;
  const put = (values: Float32Array) => {
    for (const v of values) view.setFloat32(4 * at++, v, true);
  };
  for (const node of graph.nodes) {
    if (node.op === 'conv2d' || node.op === 'dense') {
      const w = node.weight;
      if (w.kind === 'dense') put(w.values);
      else {
        for (let r = 0; r < w.rows; r++) {
          for (let k = w.rowPtr[r]!; k < w.rowPtr[r + 1]!; k++)
            view.setFloat32(4 * (at + r * w.cols + w.colIdx[k]!), w.values[k]!, true);
        }
        at += w.rows * w.cols;
      }
      if (node.bias) put(node.bias);
    } else if (node.op === 'batchNorm') {
      for (const v of [node.gamma, node.beta, node.movingMean, node.movingVariance]) put(v);
    }
  }
  return gzipSync(joined, { level: 9 }).length;
}

/**
 * Describes a container's bytes: per-layer storage and the yardsticks. Each layer's bytes come from the
 * section its node refers to, whatever order the sections are in.
 */
export function describeModel(
  bytes: Uint8Array,
  name?: string,
  options: Omit<DecodeOptions, 'name'> = {},
): ContainerReport {
  const decoded = decodeModelDetailed(bytes, name === undefined ? options : { ...options, name });
  const { graph, sectionBytes, sectionKinds, sectionRefs, valuePrecision } = decoded;
  // Each weight's section by node name: one pass, so the report stays linear in the layer count.
  const weightSections = new Map<string, number>();
  sectionRefs.forEach((r, index) => {
    if (r?.field === 'weight') weightSections.set(r.node, index);
  });
  const layers: LayerReport[] = [];
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'dense') continue;
    const section = weightSections.get(node.name)!;
    const size = node.weight.rows * node.weight.cols;
    const nnz = nonzeroCount(node.weight);
    const shape =
      node.op === 'conv2d'
        ? [node.outChannels, node.inChannels, node.kernelSize[0], node.kernelSize[1]]
        : [node.outFeatures, node.inFeatures];
    layers.push({
      name: node.name,
      op: node.op,
      shape,
      size,
      nnz,
      sparsity: 1 - nnz / size,
      storage: sectionKinds[section] === 'csr' ? 'csr' : 'dense',
      bytes: sectionBytes[section]!,
      bitsPerNonzero: nnz > 0 ? (sectionBytes[section]! * 8) / nnz : 0,
    });
  }
  const totalParams = parameterCount(graph);
  const valueBits = valuePrecision === 'fp32' ? 32 : valuePrecision === 'fp16' ? 16 : 8;
  const weightSize = layers.reduce((n, l) => n + l.size, 0);
  const weightNnz = layers.reduce((n, l) => n + l.nnz, 0);
  const weightBytes = layers.reduce((n, l) => n + l.bytes, 0);
  let iidBits = (totalParams - weightSize) * 32;
  for (const l of layers) iidBits += l.size * binaryEntropy(l.nnz / l.size) + l.nnz * valueBits;
  return {
    layers,
    valuePrecision,
    containerBytes: decoded.totalBytes,
    weightBytes,
    weightNnz,
    weightSize,
    bitsPerNonzero: weightNnz > 0 ? (weightBytes * 8) / weightNnz : 0,
    denseFp32Bytes: totalParams * 4,
    gzippedDenseBytes:
      totalParams * 4 <= MAX_GZIP_YARDSTICK_BYTES &&
      totalParams * 4 <= MAX_GZIP_YARDSTICK_RATIO * decoded.totalBytes
        ? gzippedDense(graph, totalParams)
        : null,
    iidEntropyBytes: Math.ceil(iidBits / 8),
  };
}
