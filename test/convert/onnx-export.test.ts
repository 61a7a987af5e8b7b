// exportOnnx: the bytes decode as a standard ModelProto (opset 13, NCHW), and an ONNX interpreter agrees with the runtime.
//
// The 1,000-image check against onnxruntime itself is bench/verify-onnx.ts (onnxruntime is a bench-only peer).
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { exportOnnx, toOnnxModel } from '../../src/convert/onnx-export.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { runReference } from '../../src/runtime/reference.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, randomDense, sampleGraph, vec } from '../format/graphs.js';
import { runOnnx } from './onnx-interpreter.js';
import { readOnnxModel } from './onnx-reader.js';

/** NHWC images [b, h, w, c] -> NCHW, as a caller of the ONNX model lays them out. */
function toNchw(data: Float32Array, b: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++)
          out[((n * c + k) * h + y) * w + x] = data[((n * h + y) * w + x) * c + k]!;
  return out;
}

/** Max |ONNX interpreter − runtime reference| over a random batch, both on the same images. */
function maxDifference(graph: ModelGraph, bytes: Uint8Array, batch = 3): number {
  const first = graph.nodes[0];
  if (first?.op !== 'input') throw new Error('the graph must start with its input');
  const shape = [...first.shape];
  const rng = new Random(11);
  const size = shape.reduce((a, b) => a * b, 1);
  const input = Float32Array.from({ length: batch * size }, () => rng.nextFloat());
  const expected = runReference(graph, { data: input, batch, shape });
  const [h, w, c] = shape as [number, number, number];
  const onnxInput =
    shape.length === 3
      ? { dims: [batch, c, h, w], data: toNchw(input, batch, h, w, c) }
      : { dims: [batch, ...shape], data: input };
  const got = runOnnx(readOnnxModel(bytes), onnxInput);
  expect(got.data.length).toBe(expected.data.length);
  let max = 0;
  got.data.forEach((v, i) => (max = Math.max(max, Math.abs(v - expected.data[i]!))));
  return max;
}

/** conv stride 2 (asymmetric 'same' pads) -> maxPool -> flatten -> sparse dense -> dense -> softmax. */
function flattenGraph(flattenIsOutput = false): ModelGraph {
  const rng = new Random(5);
  const conv = {
    op: 'conv2d' as const,
    name: 'conv',
    input: 'image',
    inChannels: 3,
    outChannels: 4,
    kernelSize: [3, 2] as const,
    strides: [2, 2] as const,
    padding: 'same' as const,
    weight: randomCsr(rng, 4, 18, 0.5),
    bias: vec(rng, 4),
    activation: 'relu' as const,
  };
  const pool = {
    op: 'maxPool' as const,
    name: 'pool',
    input: 'conv',
    poolSize: [3, 3] as const,
    strides: [2, 2] as const,
    padding: 'same' as const,
  };
  if (flattenIsOutput) {
    return {
      nodes: [
        { op: 'input', name: 'image', shape: [10, 7, 3] },
        conv,
        pool,
        { op: 'flatten', name: 'flat', input: 'pool' },
      ],
      output: 'flat',
      metadata: {},
    };
  }
  return {
    nodes: [
      { op: 'input', name: 'image', shape: [10, 7, 3] },
      conv,
      pool,
      { op: 'flatten', name: 'flat', input: 'pool' },
      {
        op: 'dense',
        name: 'fc1',
        input: 'flat',
        inFeatures: 24,
        outFeatures: 6,
        weight: randomCsr(rng, 6, 24, 0.4),
        bias: vec(rng, 6),
        activation: 'relu',
      },
      {
        op: 'dense',
        name: 'fc2',
        input: 'fc1',
        inFeatures: 6,
        outFeatures: 5,
        weight: randomDense(rng, 5, 6),
        bias: null,
        activation: 'linear',
      },
      { op: 'softmax', name: 'probs', input: 'fc2' },
    ],
    output: 'probs',
    metadata: { modelName: 'flatten-test' },
  };
}

/** An MLP on [features], with a BatchNorm after a ReLU dense (which cannot fold) and a 1D flatten. */
function mlpGraph(): ModelGraph {
  const rng = new Random(9);
  return {
    nodes: [
      { op: 'input', name: 'x', shape: [12] },
      { op: 'flatten', name: 'flat', input: 'x' },
      {
        op: 'dense',
        name: 'h',
        input: 'flat',
        inFeatures: 12,
        outFeatures: 7,
        weight: randomCsr(rng, 7, 12, 0.3),
        bias: vec(rng, 7),
        activation: 'relu',
      },
      {
        op: 'batchNorm',
        name: 'bn',
        input: 'h',
        gamma: vec(rng, 7),
        beta: vec(rng, 7),
        movingMean: vec(rng, 7),
        movingVariance: vec(rng, 7).map((v) => v + 1),
        epsilon: 0.01,
      },
      {
        op: 'dense',
        name: 'out',
        input: 'bn',
        inFeatures: 7,
        outFeatures: 3,
        weight: randomDense(rng, 3, 7),
        bias: vec(rng, 3),
        activation: 'softmax',
      },
    ],
    output: 'out',
    metadata: {},
  };
}

describe('exportOnnx', () => {
  it('writes a ModelProto: IR 7, opset 13, NCHW input with a symbolic batch, metadata kept', () => {
    const model = readOnnxModel(exportOnnx(sampleGraph(2)));
    expect(model.irVersion).toBe(7);
    expect(model.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(model.producerName).toBe('dynaprune');
    expect(model.inputs).toEqual([{ name: 'image', dims: ['batch', 3, 9, 9] }]);
    expect(model.outputs).toEqual([{ name: 'fc', dims: ['batch', 5] }]);
    expect(model.metadata.get('modelName')).toBe('sample');
    expect(JSON.parse(model.metadata.get('labels')!)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // BatchNorm folded into conv1 and the ReLU after it kept as a Relu node, as onnxruntime expects.
    expect(model.nodes.map((n) => n.opType)).toEqual([
      'Conv',
      'Relu',
      'MaxPool',
      'Conv',
      'Relu',
      'Add',
      'AveragePool',
      'GlobalAveragePool',
      'Flatten',
      'Gemm',
      'Softmax',
    ]);
    expect(model.initializers.get('conv1.weight')!.dims).toEqual([8, 3, 3, 3]);
    expect(model.initializers.get('fc.weight')!.dims).toEqual([5, 8]);
    expect(model.sparseInitializerNames).toEqual([]);
  });

  it('computes what the runtime reference computes (conv, BatchNorm folded, pools, residual add, softmax)', () => {
    expect(maxDifference(sampleGraph(3), exportOnnx(sampleGraph(3)))).toBeLessThan(1e-5);
  });

  it('keeps BatchNorm as BatchNormalization when folding is off, with the same outputs', () => {
    const bytes = exportOnnx(sampleGraph(4), { foldBatchNorm: false });
    expect(readOnnxModel(bytes).nodes.map((n) => n.opType)).toContain('BatchNormalization');
    expect(maxDifference(sampleGraph(4), bytes)).toBeLessThan(1e-5);
  });

  it('stores CSR weights as ONNX sparse initializers on request, same outputs, smaller file', () => {
    const graph = sampleGraph(5);
    const dense = exportOnnx(graph);
    const sparse = exportOnnx(graph, { sparseInitializers: true });
    const model = readOnnxModel(sparse);
    expect(model.sparseInitializerNames.sort()).toEqual(['conv1.weight', 'conv2.weight']);
    expect(sparse.length).toBeLessThan(dense.length);
    expect(maxDifference(graph, sparse)).toBeLessThan(1e-5);
  });

  it('permutes a dense layer after flatten to NCHW order (no Transpose), asymmetric pads included', () => {
    const graph = flattenGraph();
    const bytes = exportOnnx(graph, { sparseInitializers: true });
    const model = readOnnxModel(bytes);
    expect(model.nodes.map((n) => n.opType)).not.toContain('Transpose');
    expect(model.nodes.find((n) => n.opType === 'Conv')!.attributes.get('pads')).toEqual([
      0, 0, 1, 1,
    ]);
    expect(maxDifference(graph, bytes)).toBeLessThan(1e-5);
  });

  it('transposes back to NHWC before a flatten that no dense layer reads', () => {
    const graph = flattenGraph(true);
    const bytes = exportOnnx(graph);
    expect(readOnnxModel(bytes).nodes.map((n) => n.opType)).toContain('Transpose');
    expect(maxDifference(graph, bytes)).toBeLessThan(1e-5);
  });

  it('exports an MLP on [features], with an unfoldable BatchNorm', () => {
    const graph = mlpGraph();
    const bytes = exportOnnx(graph);
    const model = readOnnxModel(bytes);
    expect(model.inputs[0]!.dims).toEqual(['batch', 12]);
    expect(model.nodes.map((n) => n.opType)).toContain('BatchNormalization');
    expect(maxDifference(graph, bytes)).toBeLessThan(1e-5);
  });

  it('rejects an inconsistent graph with a typed error', () => {
    const graph = sampleGraph(6);
    const broken = { ...graph, nodes: graph.nodes.filter((n) => n.name !== 'pool1') };
    expect(() => toOnnxModel(broken)).toThrow(InvalidArgumentError);
  });
});
