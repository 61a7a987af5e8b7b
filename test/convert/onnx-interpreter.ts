// A tiny ONNX interpreter for the tests: the ops dynaprune's exporter emits, in NCHW, as the ONNX spec defines them.
//
// Deliberately independent of src/runtime: it reads the model through test/convert/onnx-reader.ts and
// works in ONNX's layout, so agreeing with the runtime's reference ops checks the exporter's transposes,
// padding and weight layout, not a shared mistake.
import type { ReadModel, ReadNode } from './onnx-reader.js';

export interface Tensor {
  readonly dims: number[];
  readonly data: Float32Array;
}

const ints = (node: ReadNode, name: string, fallback: number[]): number[] => {
  const v = node.attributes.get(name);
  return Array.isArray(v) ? v : fallback;
};
const int = (node: ReadNode, name: string, fallback: number): number => {
  const v = node.attributes.get(name);
  return typeof v === 'number' ? v : fallback;
};

function conv(x: Tensor, w: Tensor, b: Tensor | undefined, node: ReadNode): Tensor {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, , kh, kw] = w.dims as [number, number, number, number];
  const [sh, sw] = ints(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = ints(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - kw) / sw) + 1;
  const out = new Float32Array(n * m * oh * ow);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < m; o++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          let acc = b ? b.data[o]! : 0;
          for (let ci = 0; ci < c; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * sh + ky - pt;
                const ix = z * sw + kx - pl;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc +=
                  w.data[((o * c + ci) * kh + ky) * kw + kx]! *
                  x.data[((i * c + ci) * h + iy) * wd + ix]!;
              }
          out[((i * m + o) * oh + y) * ow + z] = acc;
        }
  return { dims: [n, m, oh, ow], data: out };
}

function pool(x: Tensor, node: ReadNode, kind: 'max' | 'avg'): Tensor {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [kh, kw] = ints(node, 'kernel_shape', []) as [number, number];
  const [sh, sw] = ints(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = ints(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  if (kind === 'avg' && int(node, 'count_include_pad', 0) !== 0)
    throw new Error('count_include_pad=1 is not what the graph means');
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++) {
        let acc = kind === 'max' ? -Infinity : 0;
        let count = 0;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const iy = y * sh + i - pt;
            const ix = z * sw + j - pl;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = x.data[(p * h + iy) * w + ix]!;
            acc = kind === 'max' ? Math.max(acc, v) : acc + v;
            count++;
          }
        out[(p * oh + y) * ow + z] = kind === 'max' ? acc : acc / count;
      }
  return { dims: [n, c, oh, ow], data: out };
}

function gemm(a: Tensor, b: Tensor, c: Tensor | undefined, node: ReadNode): Tensor {
  if (int(node, 'transB', 0) !== 1 || int(node, 'transA', 0) !== 0)
    throw new Error('Gemm: expected transB=1');
  const [n, k] = a.dims as [number, number];
  const [m, k2] = b.dims as [number, number];
  if (k !== k2) throw new Error(`Gemm: inner sizes ${k} and ${k2}`);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < m; o++) {
      let acc = c ? c.data[o]! : 0;
      for (let j = 0; j < k; j++) acc += a.data[i * k + j]! * b.data[o * k + j]!;
      out[i * m + o] = acc;
    }
  return { dims: [n, m], data: out };
}

/** Softmax over one axis (opset 13 semantics). */
function softmax(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.dims.length : axis;
  const outer = x.dims.slice(0, a).reduce((p, q) => p * q, 1);
  const size = x.dims[a]!;
  const inner = x.dims.slice(a + 1).reduce((p, q) => p * q, 1);
  const out = new Float32Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * size + k) * inner + i;
      let max = -Infinity;
      for (let k = 0; k < size; k++) max = Math.max(max, x.data[at(k)]!);
      let sum = 0;
      for (let k = 0; k < size; k++) sum += Math.exp(x.data[at(k)]! - max);
      for (let k = 0; k < size; k++) out[at(k)] = Math.exp(x.data[at(k)]! - max) / sum;
    }
  return { dims: x.dims, data: out };
}

function transpose(x: Tensor, perm: number[]): Tensor {
  const dims = perm.map((p) => x.dims[p]!);
  const strides = x.dims.map((_, i) => x.dims.slice(i + 1).reduce((p, q) => p * q, 1));
  const out = new Float32Array(x.data.length);
  const index = dims.map(() => 0);
  for (let flat = 0; flat < out.length; flat++) {
    let source = 0;
    index.forEach((v, i) => (source += v * strides[perm[i]!]!));
    out[flat] = x.data[source]!;
    for (let i = dims.length - 1; i >= 0 && ++index[i]! === dims[i]; i--) index[i] = 0;
  }
  return { dims, data: out };
}

function batchNorm(x: Tensor, [scale, bias, mean, variance]: Tensor[], epsilon: number): Tensor {
  const c = x.dims[1]!;
  const inner = x.dims.slice(2).reduce((p, q) => p * q, 1);
  const data = x.data.map((v, i) => {
    const k = Math.floor(i / inner) % c;
    return (
      (scale!.data[k]! * (v - mean!.data[k]!)) / Math.sqrt(variance!.data[k]! + epsilon) +
      bias!.data[k]!
    );
  });
  return { dims: x.dims, data };
}

function evaluate(node: ReadNode, args: Tensor[]): Tensor {
  const [x] = args as [Tensor];
  switch (node.opType) {
    case 'Conv':
      return conv(x, args[1]!, args[2], node);
    case 'Gemm':
      return gemm(x, args[1]!, args[2], node);
    case 'Relu':
      return { dims: x.dims, data: x.data.map((v) => (v > 0 ? v : 0)) };
    case 'Softmax':
      return softmax(x, int(node, 'axis', -1));
    case 'MaxPool':
      return pool(x, node, 'max');
    case 'AveragePool':
      return pool(x, node, 'avg');
    case 'GlobalAveragePool': {
      const [n, c, h, w] = x.dims as [number, number, number, number];
      const data = Float32Array.from({ length: n * c }, (_, p) => {
        let acc = 0;
        for (let i = 0; i < h * w; i++) acc += x.data[p * h * w + i]!;
        return acc / (h * w);
      });
      return { dims: [n, c, 1, 1], data };
    }
    case 'Flatten': {
      const axis = int(node, 'axis', 1);
      const head = x.dims.slice(0, axis).reduce((p, q) => p * q, 1);
      return { dims: [head, x.data.length / head], data: x.data };
    }
    case 'Transpose':
      return transpose(x, ints(node, 'perm', []));
    case 'Add':
      return { dims: x.dims, data: x.data.map((v, i) => v + args[1]!.data[i]!) };
    case 'BatchNormalization':
      return batchNorm(x, args.slice(1), (node.attributes.get('epsilon') as number) ?? 1e-5);
    default:
      throw new Error(`the test interpreter has no op ${node.opType}`);
  }
}

/** Runs `model` on `input` (its single graph input) and returns its single output. */
export function runOnnx(model: ReadModel, input: Tensor): Tensor {
  const values = new Map<string, Tensor>(model.initializers);
  values.set(model.inputs[0]!.name, input);
  for (const node of model.nodes) {
    const args = node.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new Error(`${node.opType}: input ${name} is not defined before it`);
      return v;
    });
    values.set(node.outputs[0]!, evaluate(node, args));
  }
  return values.get(model.outputs[0]!.name)!;
}
