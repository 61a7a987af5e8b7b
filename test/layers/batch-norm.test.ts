// FastBatchNormalization against tfjs's BatchNormalization: outputs, gradients, moving statistics, round trip.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { fastBatchNormalization, registerDynamicLayers } from '../../src/layers/index.js';

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

/** Output, input gradient, gamma/beta gradients and moving stats after one training call. */
function trainingStep(make: () => tf.layers.Layer, x: tf.Tensor, dyValues: tf.Tensor): number[][] {
  const layer = make();
  layer.apply(x); // builds
  layer.setWeights([
    tf.linspace(0.5, 1.5, x.shape[3]!),
    tf.linspace(-0.2, 0.3, x.shape[3]!),
    tf.zeros([x.shape[3]!]),
    tf.ones([x.shape[3]!]),
  ]);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable) as [
    tf.Variable,
    tf.Variable,
  ];
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, dyValues)) as tf.Scalar,
    [gamma, beta],
  );
  const dx = tf.grad((input: tf.Tensor) =>
    tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, dyValues)),
  )(x);
  const out = layer.apply(x, { training: true }) as tf.Tensor;
  const stats = layer.getWeights().slice(2);
  return [
    Array.from(out.dataSync()),
    Array.from(dx.dataSync()),
    Array.from(grads[gamma.name]!.dataSync()),
    Array.from(grads[beta.name]!.dataSync()),
    Array.from(stats[0]!.dataSync()),
    Array.from(stats[1]!.dataSync()),
    [value.dataSync()[0]!],
  ];
}

describe('FastBatchNormalization', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    registerDynamicLayers();
  });

  it('matches tfjs BatchNormalization in training: output, gradients and moving statistics', async () => {
    for (const shape of [
      [4, 6, 5, 8],
      [2, 3, 3, 12],
      [32, 1, 1, 4],
    ]) {
      const x = tf.randomNormal(shape, 0.3, 2, 'float32', 1);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 2);
      const stock = trainingStep(() => tf.layers.batchNormalization({ momentum: 0.9 }), x, dy);
      const fast = trainingStep(() => fastBatchNormalization({ momentum: 0.9 }), x, dy);
      stock.forEach((values, i) =>
        expect(relativeError(fast[i]!, values), `part ${i} of ${shape}`).toBeLessThan(1e-5),
      );
    }
  });

  it('infers exactly like the stock layer and round-trips through save and load', async () => {
    const input = tf.input({ shape: [5, 5, 8] });
    const bn = fastBatchNormalization({ name: 'bn' });
    const model = tf.model({ inputs: input, outputs: bn.apply(input) as tf.SymbolicTensor });
    bn.setWeights([
      tf.linspace(0.5, 1.5, 8),
      tf.linspace(-1, 1, 8),
      tf.linspace(-0.1, 0.1, 8),
      tf.linspace(0.5, 2, 8),
    ]);
    const stock = tf.layers.batchNormalization({ name: 'bn_stock' });
    const x = tf.randomNormal([2, 5, 5, 8], 0, 1, 'float32', 3);
    stock.apply(x);
    stock.setWeights(bn.getWeights());
    expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((stock.apply(x) as tf.Tensor).dataSync()),
    );
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    expect(JSON.stringify(saved!.modelTopology)).toContain('FastBatchNormalization');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((model.predict(x) as tf.Tensor).dataSync()),
    );
  });

  it('leaves no tensors behind in a training step', () => {
    const layer = fastBatchNormalization();
    const x = tf.randomNormal([4, 3, 3, 8]);
    layer.apply(x);
    const gamma = layer.trainableWeights[0]!.read() as tf.Variable;
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        [gamma],
      );
      tf.dispose([value, grads]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
