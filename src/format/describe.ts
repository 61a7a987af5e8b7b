// The size report of a container: per layer, and against the dense, gzipped-dense and entropy yardsticks.
import { gzipSync } from 'fflate';
import { decodeModelDetailed } from './decode.js';
import { denseValues, nonzeroCount } from '../graph/matrix.js';
import type { ModelGraph } from '../graph/types.js';
import type { ValuePrecision } from './layout.js';

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
  /** bytes × 8 / nnz. */
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
  /** The same dense float32 bytes, gzipped at level 9: what tfmot tells its users to do. */
  readonly gzippedDenseBytes: number;
  /**
   * The information-theoretic floor for this precision: H(d) bits per weight for each sparse mask, the
   * value bits for each nonzero, and 32 bits per other parameter.
   */
  readonly entropyBoundBytes: number;
}

/** Binary entropy in bits. */
export function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Every parameter of `graph` as float32 arrays, in node order. */
function parameterArrays(graph: ModelGraph): Float32Array[] {
  const out: Float32Array[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'conv2d' || node.op === 'dense') {
      out.push(denseValues(node.weight));
      if (node.bias) out.push(node.bias);
    } else if (node.op === 'batchNorm') {
      out.push(node.gamma, node.beta, node.movingMean, node.movingVariance);
    }
  }
  return out;
}

/** Describes a container's bytes: per-layer storage and the three yardsticks. */
export function describeModel(bytes: Uint8Array, name?: string): ContainerReport {
  const decoded = decodeModelDetailed(bytes, name === undefined ? {} : { name });
  const { graph, sectionBytes, valuePrecision } = decoded;
  // Sections are numbered in the order the encoder wrote them: node by node, weight before bias.
  let sectionIndex = 1;
  const layers: LayerReport[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'conv2d' || node.op === 'dense') {
      const weightSection = sectionIndex++;
      if (node.bias) sectionIndex++;
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
        storage: decoded.sectionKinds[weightSection] === 'csr' ? 'csr' : 'dense',
        bytes: sectionBytes[weightSection]!,
        bitsPerNonzero: nnz > 0 ? (sectionBytes[weightSection]! * 8) / nnz : 0,
      });
    } else if (node.op === 'batchNorm') {
      sectionIndex += 4;
    }
  }
  const params = parameterArrays(graph);
  const totalParams = params.reduce((n, a) => n + a.length, 0);
  const joined = new Uint8Array(totalParams * 4);
  const view = new DataView(joined.buffer);
  let at = 0;
  for (const a of params) for (const v of a) view.setFloat32(at++ * 4, v, true);
  const valueBits = valuePrecision === 'fp32' ? 32 : valuePrecision === 'fp16' ? 16 : 8;
  const weightSize = layers.reduce((n, l) => n + l.size, 0);
  const weightNnz = layers.reduce((n, l) => n + l.nnz, 0);
  const weightBytes = layers.reduce((n, l) => n + l.bytes, 0);
  let boundBits = (totalParams - weightSize) * 32;
  for (const l of layers) boundBits += l.size * binaryEntropy(l.nnz / l.size) + l.nnz * valueBits;
  return {
    layers,
    valuePrecision,
    containerBytes: decoded.totalBytes,
    weightBytes,
    weightNnz,
    weightSize,
    bitsPerNonzero: weightNnz > 0 ? (weightBytes * 8) / weightNnz : 0,
    denseFp32Bytes: totalParams * 4,
    gzippedDenseBytes: gzipSync(joined, { level: 9 }).length,
    entropyBoundBytes: Math.ceil(boundBits / 8),
  };
}
