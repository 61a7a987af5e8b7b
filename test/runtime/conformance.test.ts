// Conformance: every runtime kernel against the reference ops and against dense tfjs with the same weights,
// over random shapes, strides, paddings, sparsities from 0% to 99% and odd sizes (tolerance 1e-4 relative).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphToLayersModel } from '../../src/convert/from-graph.js';
import { ShapeMismatchError } from '../../src/errors.js';
import type { CsrMatrix, GraphNode, ModelGraph, Padding } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/index.js';
import { Random } from '../../src/util/random.js';

const TOLERANCE = 1e-4;

function relativeError(got: Float32Array, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-6);
}

function randomCsr(rng: Random, rows: number, cols: number, sparsity: number): CsrMatrix {
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (rng.nextFloat() >= sparsity) {
        colIdx.push(c);
        values.push(rng.nextFloat() * 2 - 1);
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

const vector = (rng: Random, n: number) =>
  Float32Array.from({ length: n }, () => rng.nextFloat() - 0.5);

/**
 * Checks a graph's runtime output against the reference ops and, unless `againstTfjs` is false (graphs the
 * tfjs converter cannot build), against tfjs (cpu) with the same weights.
 */
async function check(
  graph: ModelGraph,
  batch: number,
  rng: Random,
  label: string,
  againstTfjs = true,
): Promise<void> {
  const shape = (graph.nodes[0] as unknown as { shape: number[] }).shape;
  const input = Float32Array.from(
    { length: batch * shape.reduce((a, b) => a * b, 1) },
    () => rng.nextFloat() * 2 - 1,
  );
  const fast = await createNetwork(graph, { engine: 'wasm-simd', foldBatchNorm: false });
  const reference = await createNetwork(graph, { engine: 'reference', foldBatchNorm: false });
  const got = fast.predict(input, batch);
  expect(relativeError(got, reference.predict(input, batch)), `${label} vs reference`).toBeLessThan(
    TOLERANCE,
  );
  if (!againstTfjs) return;
  const model = graphToLayersModel(graph);
  const want = tf.tidy(() =>
    (model.predict(tf.tensor(input, [batch, ...shape])) as tf.Tensor).dataSync(),
  );
  expect(relativeError(got, want), `${label} vs tfjs`).toBeLessThan(TOLERANCE);
  model.dispose();
}

describe('runtime conformance (wasm SIMD kernels vs reference ops vs dense tfjs)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('convolutions: kernels, strides, paddings, sparsities 0-99%, odd sizes, sparse and dense storage', async () => {
    const rng = new Random(101);
    let cases = 0;
    for (const [h, w, ci, co] of [
      [7, 5, 3, 5],
      [9, 9, 8, 16],
      [6, 11, 5, 7],
      [13, 13, 12, 3],
    ] as const) {
      for (const [kh, kw] of [
        [1, 1],
        [3, 3],
        [3, 2],
        [5, 5],
      ] as const) {
        for (const strides of [
          [1, 1],
          [2, 2],
          [3, 1],
        ] as const) {
          for (const padding of ['same', 'valid'] as Padding[]) {
            if (padding === 'valid' && (kh > h || kw > w)) continue;
            const sparsity = [0, 0.5, 0.9, 0.99][cases % 4]!;
            const activation = (['relu', 'linear'] as const)[cases % 2]!;
            const conv: GraphNode = {
              op: 'conv2d',
              name: 'conv',
              input: 'x',
              inChannels: ci,
              outChannels: co,
              kernelSize: [kh, kw],
              strides,
              padding,
              weight: randomCsr(rng, co, ci * kh * kw, sparsity),
              bias: cases % 3 === 0 ? null : vector(rng, co),
              activation,
            };
            const graph: ModelGraph = {
              nodes: [{ op: 'input', name: 'x', shape: [h, w, ci] }, conv],
              output: 'conv',
              metadata: {},
            };
            await check(
              graph,
              1 + (cases % 3),
              rng,
              `conv ${h}x${w}x${ci}->${co} k${kh}x${kw} s${strides} ${padding} sparsity ${sparsity}`,
            );
            cases++;
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(60);
  });

  it('fully connected layers, sparse and dense, batches that are and are not multiples of 16', async () => {
    const rng = new Random(102);
    for (const [inF, outF] of [
      [1, 1],
      [7, 3],
      [300, 100],
      [64, 10],
    ] as const) {
      for (const sparsity of [0, 0.3, 0.9, 0.99]) {
        for (const activation of ['linear', 'relu', 'softmax'] as const) {
          const graph: ModelGraph = {
            nodes: [
              { op: 'input', name: 'x', shape: [inF] },
              {
                op: 'dense',
                name: 'fc',
                input: 'x',
                inFeatures: inF,
                outFeatures: outF,
                weight: randomCsr(rng, outF, inF, sparsity),
                bias: vector(rng, outF),
                activation,
              },
            ],
            output: 'fc',
            metadata: {},
          };
          for (const batch of [1, 3, 5, 17])
            await check(
              graph,
              batch,
              rng,
              `dense ${inF}->${outF} ${sparsity} ${activation} b${batch}`,
            );
        }
      }
    }
  });

  it('pooling, BatchNorm, ReLU, residual add, flatten, global average pool and softmax in one network', async () => {
    const rng = new Random(103);
    for (const [size, pool] of [
      [9, 2],
      [8, 3],
      [7, 2],
      [10, 2],
    ] as const) {
      for (const padding of ['same', 'valid'] as Padding[]) {
        const graph: ModelGraph = {
          nodes: [
            { op: 'input', name: 'x', shape: [size, size, 4] },
            {
              op: 'conv2d',
              name: 'c1',
              input: 'x',
              inChannels: 4,
              outChannels: 8,
              kernelSize: [3, 3],
              strides: [1, 1],
              padding: 'same',
              weight: randomCsr(rng, 8, 36, 0.6),
              bias: null,
              activation: 'linear',
            },
            {
              op: 'batchNorm',
              name: 'bn',
              input: 'c1',
              gamma: vector(rng, 8),
              beta: vector(rng, 8),
              movingMean: vector(rng, 8),
              movingVariance: vector(rng, 8).map((v) => v + 1),
              epsilon: 1e-3,
            },
            { op: 'relu', name: 'r', input: 'bn' },
            {
              op: 'conv2d',
              name: 'c2',
              input: 'r',
              inChannels: 8,
              outChannels: 8,
              kernelSize: [3, 3],
              strides: [1, 1],
              padding: 'same',
              weight: randomCsr(rng, 8, 72, 0.9),
              bias: vector(rng, 8),
              activation: 'relu',
            },
            { op: 'add', name: 'sum', inputs: ['r', 'c2'] },
            {
              op: 'maxPool',
              name: 'mp',
              input: 'sum',
              poolSize: [pool, pool],
              strides: [2, 2],
              padding,
            },
            { op: 'avgPool', name: 'ap', input: 'mp', poolSize: [2, 2], strides: [1, 1], padding },
            { op: 'flatten', name: 'flat', input: 'ap' },
            {
              op: 'dense',
              name: 'fc',
              input: 'flat',
              inFeatures: 0,
              outFeatures: 6,
              weight: randomCsr(rng, 6, 1, 0),
              bias: vector(rng, 6),
              activation: 'linear',
            },
            { op: 'softmax', name: 'sm', input: 'fc' },
          ],
          output: 'sm',
          metadata: {},
        };
        // Size the dense layer from the flattened shape.
        const mpSize = padding === 'same' ? Math.ceil(size / 2) : Math.floor((size - pool) / 2) + 1;
        const apSize = padding === 'same' ? mpSize : mpSize - 1;
        const features = apSize * apSize * 8;
        const nodes = [...graph.nodes];
        nodes[9] = {
          ...(nodes[9] as Extract<GraphNode, { op: 'dense' }>),
          inFeatures: features,
          weight: randomCsr(rng, 6, features, 0.5),
        };
        await check({ ...graph, nodes }, 3, rng, `pipeline ${size} pool ${pool} ${padding}`);
      }
    }
    const gap: ModelGraph = {
      nodes: [
        { op: 'input', name: 'x', shape: [6, 5, 4] },
        { op: 'globalAvgPool', name: 'g', input: 'x' },
        {
          op: 'batchNorm',
          name: 'bn',
          input: 'g',
          gamma: vector(rng, 4),
          beta: vector(rng, 4),
          movingMean: vector(rng, 4),
          movingVariance: vector(rng, 4).map((v) => v + 1),
          epsilon: 1e-3,
        },
        { op: 'relu', name: 'r', input: 'bn' },
        { op: 'add', name: 'a', inputs: ['r', 'g'] },
      ],
      output: 'a',
      metadata: {},
    };
    await check(gap, 4, rng, 'global average pool, feature-side BatchNorm, ReLU and add');
  });

  it('conv epilogues: residual adds and the next BatchNorm + ReLU, sparse (both layouts, strided) and dense', async () => {
    const rng = new Random(105);
    const conv = (
      name: string,
      input: string,
      channels: [number, number],
      k: number,
      stride: number,
      sparsity: number,
      activation: 'linear' | 'relu' = 'linear',
    ): GraphNode => ({
      op: 'conv2d',
      name,
      input,
      inChannels: channels[0],
      outChannels: channels[1],
      kernelSize: [k, k],
      strides: [stride, stride],
      padding: 'same',
      weight: randomCsr(rng, channels[1], channels[0] * k * k, sparsity),
      bias: rng.nextFloat() < 0.5 ? null : vector(rng, channels[1]),
      activation,
    });
    const bnRelu = (name: string, input: string, channels: number): GraphNode[] => [
      {
        op: 'batchNorm',
        name: `${name}_bn`,
        input,
        gamma: vector(rng, channels),
        beta: vector(rng, channels),
        movingMean: vector(rng, channels),
        movingVariance: vector(rng, channels).map((v) => v + 1),
        epsilon: 1e-3,
      },
      { op: 'relu', name, input: `${name}_bn` },
    ];
    for (const [size, width] of [
      [5, 8],
      [8, 16],
      [12, 8],
      [16, 4],
      // Odd size: the strided conv pads one column on the left; wide enough that it takes the shifted layout.
      [15, 64],
    ] as const) {
      for (const sparsity of [0.9, 0]) {
        const c: [number, number] = [width, width];
        const graph: ModelGraph = {
          nodes: [
            { op: 'input', name: 'x', shape: [size, size, 3] },
            conv('a', 'x', [3, width], 3, 1, 0.5, 'relu'),
            // b adds a (computed first) and writes p1 = relu(bn(a + b)); s1 is read twice.
            conv('b', 'a', c, 3, 1, sparsity),
            { op: 'add', name: 's1', inputs: ['a', 'b'] },
            ...bnRelu('p1', 's1', width),
            conv('c', 'p1', c, 3, 1, sparsity),
            { op: 'add', name: 's2', inputs: ['s1', 'c'] },
            ...bnRelu('p2', 's2', width),
            // Strided; the 1×1 shortcut f is computed after e, so f adds e's output.
            conv('e', 'p2', c, 3, 2, sparsity),
            conv('f', 'p2', c, 1, 2, sparsity),
            { op: 'add', name: 's3', inputs: ['e', 'f'] },
            ...bnRelu('p3', 's3', width),
            // Not fused: a ReLU before the add, a conv read twice.
            conv('g', 'p3', c, 3, 1, sparsity, 'relu'),
            { op: 'add', name: 's4', inputs: ['g', 's3'] },
            conv('h', 's4', c, 3, 1, sparsity),
            { op: 'add', name: 's5', inputs: ['h', 'h'] },
            // A conv straight into BatchNorm + ReLU, the graph's output.
            conv('k', 's5', c, 3, 1, sparsity),
            ...bnRelu('out', 'k', width),
          ],
          output: 'out',
          metadata: {},
        };
        await check(graph, 2, rng, `conv epilogues ${size}x${size}x${width} sparsity ${sparsity}`);
      }
    }
  });

  it('softmax over the channels of images: as a conv activation and as an op', async () => {
    const rng = new Random(104);
    const graph: ModelGraph = {
      nodes: [
        { op: 'input', name: 'x', shape: [5, 6, 3] },
        {
          op: 'conv2d',
          name: 'c',
          input: 'x',
          inChannels: 3,
          outChannels: 7,
          kernelSize: [3, 3],
          strides: [1, 1],
          padding: 'same',
          weight: randomCsr(rng, 7, 27, 0.5),
          bias: vector(rng, 7),
          activation: 'softmax',
        },
        { op: 'add', name: 'a', inputs: ['c', 'c'] },
        { op: 'softmax', name: 'sm', input: 'a' },
      ],
      output: 'sm',
      metadata: {},
    };
    // tfjs's softmax layer takes the last axis of a rank-2 tensor only: the reference ops are the judge.
    await check(graph, 2, rng, 'image softmax', false);
  });

  it('refuses inputs of the wrong size with a typed error', async () => {
    const rng = new Random(104);
    const graph: ModelGraph = {
      nodes: [
        { op: 'input', name: 'x', shape: [4] },
        {
          op: 'dense',
          name: 'fc',
          input: 'x',
          inFeatures: 4,
          outFeatures: 2,
          weight: randomCsr(rng, 2, 4, 0),
          bias: null,
          activation: 'linear',
        },
      ],
      output: 'fc',
      metadata: {},
    };
    const net = await createNetwork(graph);
    expect(() => net.predict(new Float32Array(7), 2)).toThrow(ShapeMismatchError);
    expect(() => net.predict(new Float32Array(8), 0)).toThrow(/batch/);
  });
});
