// Checks a ModelGraph's structure and infers every node's output shape; shared by encoder, decoder and runtime.
import type { GraphNode, ModelGraph, Padding, WeightMatrix } from './graph.js';

/** What went wrong: a broken structure (names, references, CSR arrays) or a shape clash. */
export type GraphProblem = 'structure' | 'shape';

/** Builds the error to throw; the encoder, the decoder and the runtime each use their own classes. */
export type ErrorFactory = (message: string, problem: GraphProblem) => Error;

/** Per-example activation size limit (2^26 floats, 256 MiB): stops absurd shapes from bad files. */
export const MAX_ACTIVATION_ELEMENTS = 2 ** 26;

const OPS = new Set([
  'input',
  'conv2d',
  'dense',
  'batchNorm',
  'maxPool',
  'avgPool',
  'globalAvgPool',
  'relu',
  'flatten',
  'softmax',
  'add',
]);
const ACTIVATIONS = new Set(['linear', 'relu', 'softmax']);

/** Output size of a window of `k` sliding by `s` over `n` (tfjs/Keras rules). */
export function windowOutput(n: number, k: number, s: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/** tfjs's 'same' padding before the data (the extra row, if any, goes after). */
export function samePadBefore(n: number, k: number, s: number): number {
  const out = Math.ceil(n / s);
  return Math.floor(Math.max((out - 1) * s + k - n, 0) / 2);
}

const isPositiveInt = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v > 0;
const isPair = (v: unknown): v is readonly [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every(isPositiveInt);

function checkMatrix(
  w: WeightMatrix,
  rows: number,
  cols: number,
  where: string,
  fail: ErrorFactory,
): void {
  if (w === null || typeof w !== 'object')
    throw fail(`${where}: missing weight matrix`, 'structure');
  if (w.rows !== rows || w.cols !== cols) {
    throw fail(`${where}: weight is ${w.rows}x${w.cols}, expected ${rows}x${cols}`, 'shape');
  }
  if (w.kind === 'dense') {
    if (!(w.values instanceof Float32Array) || w.values.length !== rows * cols) {
      throw fail(`${where}: dense weight needs ${rows * cols} values`, 'structure');
    }
    return;
  }
  if (w.kind !== 'csr') throw fail(`${where}: unknown weight kind`, 'structure');
  const { rowPtr, colIdx, values } = w;
  if (rowPtr.length !== rows + 1 || rowPtr[0] !== 0)
    throw fail(`${where}: rowPtr must have ${rows + 1} entries starting at 0`, 'structure');
  const nnz = rowPtr[rows]!;
  if (colIdx.length !== nnz || values.length !== nnz) {
    throw fail(
      `${where}: rowPtr ends at ${nnz} but there are ${colIdx.length} column indices and ${values.length} values`,
      'structure',
    );
  }
  for (let r = 0; r < rows; r++) {
    const start = rowPtr[r]!;
    const end = rowPtr[r + 1]!;
    if (end < start || end > nnz)
      throw fail(`${where}: rowPtr is not monotone at row ${r}`, 'structure');
    for (let k = start; k < end; k++) {
      const c = colIdx[k]!;
      if (c >= cols)
        throw fail(`${where}: column index ${c} in row ${r} is not below ${cols}`, 'structure');
      if (k > start && c <= colIdx[k - 1]!)
        throw fail(`${where}: column indices of row ${r} are not strictly increasing`, 'structure');
    }
  }
}

function checkVector(v: unknown, length: number, where: string, fail: ErrorFactory): void {
  if (!(v instanceof Float32Array)) throw fail(`${where}: missing`, 'structure');
  if (v.length !== length)
    throw fail(`${where}: has ${v.length} values, expected ${length}`, 'shape');
}

/**
 * Validates `graph` and returns each node's output shape (batch axis excluded), by name. Throws the
 * factory's error with a message naming the node.
 */
export function validateGraph(
  graph: ModelGraph,
  fail: ErrorFactory,
): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  if (!Array.isArray(graph.nodes) || graph.nodes.length === 0)
    throw fail('the graph has no nodes', 'structure');
  const get = (name: unknown, where: string): readonly number[] => {
    const s = typeof name === 'string' ? shapes.get(name) : undefined;
    if (s === undefined)
      throw fail(`${where}: input "${String(name)}" is not an earlier node`, 'structure');
    return s;
  };
  graph.nodes.forEach((node: GraphNode, index) => {
    const where = `node ${index} ("${String(node?.name)}")`;
    if (
      node === null ||
      typeof node !== 'object' ||
      typeof node.name !== 'string' ||
      node.name === ''
    ) {
      throw fail(`node ${index}: needs a non-empty name`, 'structure');
    }
    if (shapes.has(node.name)) throw fail(`${where}: duplicate name`, 'structure');
    if (!OPS.has(node.op)) throw fail(`${where}: unknown op "${String(node.op)}"`, 'structure');
    if ((node.op === 'input') !== (index === 0))
      throw fail(`${where}: the first node, and only it, must be the input`, 'structure');
    let out: readonly number[];
    switch (node.op) {
      case 'input':
        if (
          !Array.isArray(node.shape) ||
          ![1, 3].includes(node.shape.length) ||
          !node.shape.every(isPositiveInt)
        ) {
          throw fail(
            `${where}: input shape must be [h, w, c] or [features] of positive integers`,
            'structure',
          );
        }
        out = [...node.shape];
        break;
      case 'conv2d': {
        const x = get(node.input, where);
        if (
          !isPair(node.kernelSize) ||
          !isPair(node.strides) ||
          !isPositiveInt(node.inChannels) ||
          !isPositiveInt(node.outChannels)
        ) {
          throw fail(
            `${where}: kernelSize, strides, inChannels and outChannels must be positive integers`,
            'structure',
          );
        }
        if (node.padding !== 'same' && node.padding !== 'valid')
          throw fail(`${where}: padding must be same or valid`, 'structure');
        if (!ACTIVATIONS.has(node.activation))
          throw fail(`${where}: unknown activation "${String(node.activation)}"`, 'structure');
        if (x.length !== 3 || x[2] !== node.inChannels) {
          throw fail(
            `${where}: expects an [h, w, ${node.inChannels}] input, got [${x.join(', ')}]`,
            'shape',
          );
        }
        const [kh, kw] = node.kernelSize;
        checkMatrix(
          node.weight,
          node.outChannels,
          node.inChannels * kh * kw,
          `${where} weight`,
          fail,
        );
        if (node.bias !== null) checkVector(node.bias, node.outChannels, `${where} bias`, fail);
        const oh = windowOutput(x[0]!, kh, node.strides[0], node.padding);
        const ow = windowOutput(x[1]!, kw, node.strides[1], node.padding);
        if (oh < 1 || ow < 1)
          throw fail(
            `${where}: a ${kh}x${kw} kernel does not fit a ${x[0]}x${x[1]} input`,
            'shape',
          );
        out = [oh, ow, node.outChannels];
        break;
      }
      case 'dense': {
        const x = get(node.input, where);
        if (!isPositiveInt(node.inFeatures) || !isPositiveInt(node.outFeatures)) {
          throw fail(`${where}: inFeatures and outFeatures must be positive integers`, 'structure');
        }
        if (!ACTIVATIONS.has(node.activation))
          throw fail(`${where}: unknown activation "${String(node.activation)}"`, 'structure');
        if (x.length !== 1 || x[0] !== node.inFeatures) {
          throw fail(
            `${where}: expects [${node.inFeatures}] features, got [${x.join(', ')}]`,
            'shape',
          );
        }
        checkMatrix(node.weight, node.outFeatures, node.inFeatures, `${where} weight`, fail);
        if (node.bias !== null) checkVector(node.bias, node.outFeatures, `${where} bias`, fail);
        out = [node.outFeatures];
        break;
      }
      case 'batchNorm': {
        const x = get(node.input, where);
        const c = x[x.length - 1]!;
        for (const key of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) {
          checkVector(node[key], c, `${where} ${key}`, fail);
        }
        if (typeof node.epsilon !== 'number' || !(node.epsilon >= 0) || node.epsilon === Infinity)
          throw fail(`${where}: epsilon must be a finite number >= 0`, 'structure');
        // gamma / sqrt(variance + epsilon) must be finite: a negative denominator would make NaN outputs.
        if (node.movingVariance.some((v) => !(v + node.epsilon > 0)))
          throw fail(
            `${where}: movingVariance + epsilon must be > 0 in every channel`,
            'structure',
          );
        out = x;
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const x = get(node.input, where);
        if (!isPair(node.poolSize) || !isPair(node.strides))
          throw fail(`${where}: poolSize and strides must be positive integers`, 'structure');
        if (node.padding !== 'same' && node.padding !== 'valid')
          throw fail(`${where}: padding must be same or valid`, 'structure');
        if (x.length !== 3)
          throw fail(`${where}: expects an [h, w, c] input, got [${x.join(', ')}]`, 'shape');
        const oh = windowOutput(x[0]!, node.poolSize[0], node.strides[0], node.padding);
        const ow = windowOutput(x[1]!, node.poolSize[1], node.strides[1], node.padding);
        if (oh < 1 || ow < 1)
          throw fail(`${where}: the pool window does not fit a ${x[0]}x${x[1]} input`, 'shape');
        out = [oh, ow, x[2]!];
        break;
      }
      case 'globalAvgPool': {
        const x = get(node.input, where);
        if (x.length !== 3)
          throw fail(`${where}: expects an [h, w, c] input, got [${x.join(', ')}]`, 'shape');
        out = [x[2]!];
        break;
      }
      case 'flatten': {
        const x = get(node.input, where);
        out = [x.reduce((a, b) => a * b, 1)];
        break;
      }
      case 'relu':
      case 'softmax':
        out = get(node.input, where);
        break;
      case 'add': {
        if (!Array.isArray(node.inputs) || node.inputs.length !== 2)
          throw fail(`${where}: add takes two inputs`, 'structure');
        const a = get(node.inputs[0], where);
        const b = get(node.inputs[1], where);
        if (a.join('x') !== b.join('x'))
          throw fail(`${where}: adds [${a.join(', ')}] and [${b.join(', ')}]`, 'shape');
        out = a;
        break;
      }
    }
    if (out.reduce((a, b) => a * b, 1) > MAX_ACTIVATION_ELEMENTS) {
      throw fail(
        `${where}: an output of [${out.join(', ')}] per example is larger than any model this reads`,
        'shape',
      );
    }
    shapes.set(node.name, out);
  });
  if (!shapes.has(graph.output))
    throw fail(`the output "${String(graph.output)}" is not a node`, 'structure');
  return shapes;
}
