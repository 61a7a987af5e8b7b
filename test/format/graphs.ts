// Small ModelGraphs for format tests.
import type { CsrMatrix, DenseMatrix, ModelGraph, WeightMatrix } from '../../src/graph/types.js';
import { Random } from '../../src/util/random.js';

export function randomCsr(rng: Random, rows: number, cols: number, density: number): CsrMatrix {
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (rng.nextFloat() < density) {
        colIdx.push(c);
        values.push((rng.nextFloat() - 0.5) * 0.4 || 0.01);
      }
    }
    rowPtr[r + 1] = colIdx.length;
  }
  return {
    kind: 'csr',
    rows,
    cols,
    rowPtr,
    colIdx: Uint32Array.from(colIdx),
    values: Float32Array.from(values),
  };
}

export function randomDense(rng: Random, rows: number, cols: number): DenseMatrix {
  return {
    kind: 'dense',
    rows,
    cols,
    values: Float32Array.from({ length: rows * cols }, () => rng.nextFloat() - 0.5),
  };
}

export const vec = (rng: Random, n: number): Float32Array =>
  Float32Array.from({ length: n }, () => rng.nextFloat() - 0.5);

/** conv → batchNorm → relu → maxPool → conv (residual add) → globalAvgPool → dense, all ops covered. */
export function sampleGraph(
  seed = 1,
  weights?: { conv1?: WeightMatrix; fc?: WeightMatrix },
): ModelGraph {
  const rng = new Random(seed);
  return {
    nodes: [
      { op: 'input', name: 'image', shape: [9, 9, 3] },
      {
        op: 'conv2d',
        name: 'conv1',
        input: 'image',
        inChannels: 3,
        outChannels: 8,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weight: weights?.conv1 ?? randomCsr(rng, 8, 27, 0.3),
        bias: vec(rng, 8),
        activation: 'linear',
      },
      {
        op: 'batchNorm',
        name: 'bn1',
        input: 'conv1',
        gamma: vec(rng, 8),
        beta: vec(rng, 8),
        movingMean: vec(rng, 8),
        movingVariance: vec(rng, 8).map((v) => v + 1),
        epsilon: 0.001,
      },
      { op: 'relu', name: 'relu1', input: 'bn1' },
      {
        op: 'maxPool',
        name: 'pool1',
        input: 'relu1',
        poolSize: [2, 2],
        strides: [2, 2],
        padding: 'same',
      },
      {
        op: 'conv2d',
        name: 'conv2',
        input: 'pool1',
        inChannels: 8,
        outChannels: 8,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weight: randomCsr(rng, 8, 72, 0.1),
        bias: null,
        activation: 'relu',
      },
      { op: 'add', name: 'sum', inputs: ['pool1', 'conv2'] },
      {
        op: 'avgPool',
        name: 'pool2',
        input: 'sum',
        poolSize: [2, 2],
        strides: [1, 1],
        padding: 'valid',
      },
      { op: 'globalAvgPool', name: 'gap', input: 'pool2' },
      {
        op: 'dense',
        name: 'fc',
        input: 'gap',
        inFeatures: 8,
        outFeatures: 5,
        weight: weights?.fc ?? randomDense(rng, 5, 8),
        bias: vec(rng, 5),
        activation: 'softmax',
      },
    ],
    output: 'fc',
    metadata: { modelName: 'sample', labels: ['a', 'b', 'c', 'd', 'e'], nested: { x: 1 } },
  };
}

/** The dense row-major values of any weight matrix. */
export function toDenseValues(w: WeightMatrix): Float32Array {
  if (w.kind === 'dense') return w.values;
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++)
    for (let k = w.rowPtr[r]!; k < w.rowPtr[r + 1]!; k++)
      out[r * w.cols + w.colIdx[k]!] = w.values[k]!;
  return out;
}
