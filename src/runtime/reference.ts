// Reference ops in plain TypeScript: the specification every WebAssembly kernel is checked against.
//
// Each op takes a batch in the graph's layout (NHWC images, [batch, features] vectors) and follows the
// semantics in docs/FORMAT.md literally, with no tricks: clarity over speed. They are also the runtime's
// fallback where WebAssembly SIMD is missing.
import { nodeInputs, samePadBefore, windowOutput } from '../graph/shapes.js';
import type {
  Activation,
  ModelGraph,
  NodeOf,
  OpName,
  Padding,
  WeightMatrix,
} from '../graph/types.js';

/** A batch of activations: `shape` excludes the batch axis. */
export interface Batch {
  readonly data: Float32Array;
  readonly batch: number;
  readonly shape: readonly number[];
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function activate(v: number, a: Activation): number {
  return a === 'relu' ? (v > 0 ? v : 0) : v;
}

function softmaxRows(data: Float32Array, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let i = 0; i < width; i++) max = Math.max(max, data[r * width + i]!);
    let sum = 0;
    for (let i = 0; i < width; i++) {
      const e = Math.exp(data[r * width + i]! - max);
      data[r * width + i] = e;
      sum += e;
    }
    for (let i = 0; i < width; i++) data[r * width + i]! /= sum;
  }
}

/** 2D convolution, NHWC, weight [out, in·kh·kw] with column (ci·kh + y)·kw + x. */
export function conv2d(
  x: Batch,
  w: WeightMatrix,
  bias: Float32Array | null,
  kernel: readonly [number, number],
  strides: readonly [number, number],
  padding: Padding,
  activation: Activation,
): Batch {
  const [h, wd, ci] = x.shape as [number, number, number];
  const [kh, kw] = kernel;
  const [sh, sw] = strides;
  const oh = windowOutput(h, kh, sh, padding);
  const ow = windowOutput(wd, kw, sw, padding);
  const pt = padding === 'same' ? samePadBefore(h, kh, sh) : 0;
  const pl = padding === 'same' ? samePadBefore(wd, kw, sw) : 0;
  const co = w.rows;
  const out = new Float32Array(x.batch * oh * ow * co);
  for (let b = 0; b < x.batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        for (let o = 0; o < co; o++) {
          let acc = bias ? bias[o]! : 0;
          const visit = (col: number, value: number) => {
            const c = Math.floor(col / (kh * kw));
            const ky = Math.floor(col / kw) % kh;
            const kx = col % kw;
            const iy = y * sh + ky - pt;
            const ix = z * sw + kx - pl;
            if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
              acc += value * x.data[((b * h + iy) * wd + ix) * ci + c]!;
          };
          if (w.kind === 'csr') {
            for (let k = w.rowPtr[o]!; k < w.rowPtr[o + 1]!; k++) visit(w.colIdx[k]!, w.values[k]!);
          } else {
            for (let col = 0; col < w.cols; col++) visit(col, w.values[o * w.cols + col]!);
          }
          out[((b * oh + y) * ow + z) * co + o] = activate(acc, activation);
        }
      }
    }
  }
  const result = { data: out, batch: x.batch, shape: [oh, ow, co] };
  if (activation === 'softmax') softmaxRows(out, x.batch * oh * ow, co);
  return result;
}

/** Fully connected: y = act(W·x + bias) per example. */
export function dense(
  x: Batch,
  w: WeightMatrix,
  bias: Float32Array | null,
  activation: Activation,
): Batch {
  const n = w.cols;
  const out = new Float32Array(x.batch * w.rows);
  for (let b = 0; b < x.batch; b++) {
    for (let o = 0; o < w.rows; o++) {
      let acc = bias ? bias[o]! : 0;
      if (w.kind === 'csr') {
        for (let k = w.rowPtr[o]!; k < w.rowPtr[o + 1]!; k++)
          acc += w.values[k]! * x.data[b * n + w.colIdx[k]!]!;
      } else {
        for (let k = 0; k < n; k++) acc += w.values[o * n + k]! * x.data[b * n + k]!;
      }
      out[b * w.rows + o] = activate(acc, activation);
    }
  }
  if (activation === 'softmax') softmaxRows(out, x.batch, w.rows);
  return { data: out, batch: x.batch, shape: [w.rows] };
}

/** Max or average pooling (average over in-bounds positions), NHWC. */
export function pool(
  x: Batch,
  kind: 'max' | 'avg',
  poolSize: readonly [number, number],
  strides: readonly [number, number],
  padding: Padding,
): Batch {
  const [h, w, c] = x.shape as [number, number, number];
  const [ph, pw] = poolSize;
  const [sh, sw] = strides;
  const oh = windowOutput(h, ph, sh, padding);
  const ow = windowOutput(w, pw, sw, padding);
  const pt = padding === 'same' ? samePadBefore(h, ph, sh) : 0;
  const pl = padding === 'same' ? samePadBefore(w, pw, sw) : 0;
  const out = new Float32Array(x.batch * oh * ow * c);
  for (let b = 0; b < x.batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        for (let k = 0; k < c; k++) {
          let acc = kind === 'max' ? -Infinity : 0;
          let count = 0;
          for (let i = 0; i < ph; i++) {
            for (let j = 0; j < pw; j++) {
              const iy = y * sh + i - pt;
              const ix = z * sw + j - pl;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x.data[((b * h + iy) * w + ix) * c + k]!;
              acc = kind === 'max' ? Math.max(acc, v) : acc + v;
              count++;
            }
          }
          out[((b * oh + y) * ow + z) * c + k] = kind === 'max' ? acc : acc / count;
        }
      }
    }
  }
  return { data: out, batch: x.batch, shape: [oh, ow, c] };
}

export function globalAvgPool(x: Batch): Batch {
  const [h, w, c] = x.shape as [number, number, number];
  const out = new Float32Array(x.batch * c);
  for (let b = 0; b < x.batch; b++) {
    for (let k = 0; k < c; k++) {
      let acc = 0;
      for (let p = 0; p < h * w; p++) acc += x.data[(b * h * w + p) * c + k]!;
      out[b * c + k] = acc / (h * w);
    }
  }
  return { data: out, batch: x.batch, shape: [c] };
}

export function batchNorm(
  x: Batch,
  node: {
    gamma: Float32Array;
    beta: Float32Array;
    movingMean: Float32Array;
    movingVariance: Float32Array;
    epsilon: number;
  },
): Batch {
  const c = x.shape[x.shape.length - 1]!;
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const k = i % c;
    out[i] =
      (node.gamma[k]! * (x.data[i]! - node.movingMean[k]!)) /
        Math.sqrt(node.movingVariance[k]! + node.epsilon) +
      node.beta[k]!;
  }
  return { ...x, data: out };
}

export function relu(x: Batch): Batch {
  return { ...x, data: x.data.map((v) => (v > 0 ? v : 0)) };
}

export function softmax(x: Batch): Batch {
  const data = Float32Array.from(x.data);
  const width = x.shape[x.shape.length - 1]!;
  softmaxRows(data, data.length / width, width);
  return { ...x, data };
}

export function add(a: Batch, b: Batch): Batch {
  const data = new Float32Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a.data[i]! + b.data[i]!;
  return { ...a, data };
}

/** NHWC flatten is a reshape: the data order is already (h, w, c). */
export function flatten(x: Batch): Batch {
  return { ...x, shape: [size(x.shape)] };
}

/** A reference op: the node and its inputs' batches, in order, give its output batch. */
type ReferenceOp<K extends OpName> = (node: NodeOf<K>, inputs: readonly Batch[]) => Batch;

/** The reference op of every op (the input node passes the batch through). */
export const referenceOps: { readonly [K in OpName]: ReferenceOp<K> } = {
  input: (_node, [x]) => x!,
  conv2d: (n, [x]) =>
    conv2d(x!, n.weight, n.bias, n.kernelSize, n.strides, n.padding, n.activation),
  dense: (n, [x]) => dense(x!, n.weight, n.bias, n.activation),
  batchNorm: (n, [x]) => batchNorm(x!, n),
  maxPool: (n, [x]) => pool(x!, 'max', n.poolSize, n.strides, n.padding),
  avgPool: (n, [x]) => pool(x!, 'avg', n.poolSize, n.strides, n.padding),
  globalAvgPool: (_n, [x]) => globalAvgPool(x!),
  relu: (_n, [x]) => relu(x!),
  softmax: (_n, [x]) => softmax(x!),
  flatten: (_n, [x]) => flatten(x!),
  add: (_n, [a, b]) => add(a!, b!),
};

/** Runs `graph` on a batch with the reference ops; returns the output node's batch. */
export function runReference(graph: ModelGraph, input: Batch): Batch {
  const values = new Map<string, Batch>();
  for (const node of graph.nodes) {
    const inputs =
      node.op === 'input' ? [input] : nodeInputs(node).map((name) => values.get(name)!);
    values.set(node.name, (referenceOps[node.op] as ReferenceOp<OpName>)(node as never, inputs));
  }
  return values.get(graph.output)!;
}
