// tfjs model -> ModelGraph -> tfjs model gives the same predictions; BatchNorm folding is exact to rounding.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphToLayersModel } from '../../src/convert/from-graph.js';
import { modelToGraph } from '../../src/convert/to-graph.js';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError } from '../../src/errors.js';

function residualModel(): tf.LayersModel {
  const x = tf.input({ shape: [9, 9, 3], name: 'image' });
  const c1 = tf.layers
    .conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same' })
    .apply(x) as tf.SymbolicTensor;
  const b1 = tf.layers.batchNormalization({ name: 'b1' }).apply(c1) as tf.SymbolicTensor;
  const r1 = tf.layers.reLU({ name: 'r1' }).apply(b1) as tf.SymbolicTensor;
  const c2 = tf.layers
    .conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(r1) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([r1, c2]) as tf.SymbolicTensor;
  const p = tf.layers
    .maxPooling2d({ name: 'p', poolSize: 2, strides: 2, padding: 'same' })
    .apply(sum) as tf.SymbolicTensor;
  const c3 = tf.layers
    .conv2d({ name: 'c3', filters: 6, kernelSize: [3, 2], strides: [2, 1] })
    .apply(p) as tf.SymbolicTensor;
  const d = tf.layers.dropout({ name: 'drop', rate: 0.5 }).apply(c3) as tf.SymbolicTensor;
  const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(d) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ name: 'fc', units: 5, activation: 'softmax' })
    .apply(g) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: out });
}

async function randomizeBatchNorm(model: tf.LayersModel): Promise<void> {
  const bn = model.getLayer('b1');
  const n = 4;
  bn.setWeights([
    tf.randomUniform([n], 0.5, 1.5, 'float32', 1),
    tf.randomUniform([n], -0.5, 0.5, 'float32', 2),
    tf.randomUniform([n], -0.2, 0.2, 'float32', 3),
    tf.randomUniform([n], 0.5, 2, 'float32', 4),
  ]);
}

describe('modelToGraph / graphToLayersModel', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('round-trips a residual model exactly without folding', async () => {
    const model = residualModel();
    await randomizeBatchNorm(model);
    const graph = modelToGraph(model, { foldBatchNorm: false });
    expect(graph.nodes.map((n) => n.op)).toEqual([
      'input',
      'conv2d',
      'batchNorm',
      'relu',
      'conv2d',
      'add',
      'maxPool',
      'conv2d',
      'globalAvgPool',
      'dense',
    ]);
    const rebuilt = graphToLayersModel(graph);
    const x = tf.randomNormal([3, 9, 9, 3], 0, 1, 'float32', 9);
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const got = (rebuilt.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('folds a BatchNorm that follows a linear conv, to float rounding', async () => {
    const model = residualModel();
    await randomizeBatchNorm(model);
    const graph = modelToGraph(model);
    expect(graph.nodes.some((n) => n.op === 'batchNorm')).toBe(false);
    const rebuilt = graphToLayersModel(graph);
    const x = tf.randomNormal([3, 9, 9, 3], 0, 1, 'float32', 9);
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const got = (rebuilt.predict(x) as tf.Tensor).dataSync();
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
  });

  it('stores the conv kernel in [out, in*kh*kw] order with column (ci*kh + y)*kw + x', () => {
    const x = tf.input({ shape: [4, 4, 2] });
    const conv = tf.layers.conv2d({ name: 'k', filters: 3, kernelSize: [2, 3], useBias: false });
    const m = tf.model({ inputs: x, outputs: conv.apply(x) as tf.SymbolicTensor });
    const kernel = new Float32Array(2 * 3 * 2 * 3).map((_, i) => i + 1);
    conv.setWeights([tf.tensor(kernel, [2, 3, 2, 3])]);
    const node = modelToGraph(m).nodes[1]!;
    if (node.op !== 'conv2d' || node.weight.kind !== 'dense')
      throw new Error('expected a dense conv2d');
    const [o, ci, y, xx] = [2, 1, 1, 2];
    expect(node.weight.values[o * 12 + (ci * 2 + y) * 3 + xx]).toBe(
      kernel[((y * 3 + xx) * 2 + ci) * 3 + o],
    );
  });

  it('refuses layers it cannot express, naming the layer', () => {
    const x = tf.input({ shape: [4] });
    const m = tf.model({
      inputs: x,
      outputs: tf.layers
        .dense({ name: 'odd', units: 2, activation: 'tanh' })
        .apply(x) as tf.SymbolicTensor,
    });
    expect(() => modelToGraph(m)).toThrow(InvalidArgumentError);
    expect(() => modelToGraph(m)).toThrow(/odd.*tanh/);

    const image = tf.input({ shape: [6, 6, 2] });
    const dilated = tf.model({
      inputs: image,
      outputs: tf.layers
        .conv2d({ name: 'wide', filters: 2, kernelSize: 3, dilationRate: 2 })
        .apply(image) as tf.SymbolicTensor,
    });
    expect(() => modelToGraph(dilated)).toThrow(/wide is dilated/);
    const upsampled = tf.model({
      inputs: image,
      outputs: tf.layers.upSampling2d({ name: 'up' }).apply(image) as tf.SymbolicTensor,
    });
    expect(() => modelToGraph(upsampled)).toThrow(/up is a UpSampling2D/);
  });
});

describe('exportSparse / toLayersModel', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`round-trips a dynamic model bit for bit in fp32 on ${backend} (BatchNorm unfolded), masks as CSR`, async () => {
      await initBackend(backend);
      const { sparsify } = await import('../../src/sparsity/sparsify.js');
      const { exportSparse, toLayersModel } = await import('../../src/convert/export.js');
      const { describeModel } = await import('../../src/format/describe.js');
      const { model } = await sparsify(residualModel(), {
        sparsity: 0.7,
        maskInit: 'random',
        seed: 3,
      });
      await randomizeBatchNorm(model);
      const bytes = exportSparse(model, { foldBatchNorm: false });
      const rebuilt = toLayersModel(bytes);
      const x = tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 12);
      expect(Array.from((rebuilt.predict(x) as tf.Tensor).dataSync())).toEqual(
        Array.from((model.predict(x) as tf.Tensor).dataSync()),
      );
      const report = describeModel(bytes);
      expect(report.layers.filter((l) => l.storage === 'csr').map((l) => l.name)).toEqual([
        'c1',
        'c2',
        'c3',
        'fc',
      ]);
      for (const l of report.layers) expect(l.sparsity).toBeCloseTo(0.7, 1);
    });
  }
});
