// The fused Adam update matches tfjs's AdamOptimizer step for step, and keeps its state format.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { FusedAdamOptimizer } from '../../src/engine/fused-adam.js';

let made = 0;
function problem(seed: number) {
  made++;
  const w = tf.variable(tf.randomNormal([37, 5], 0, 1, 'float32', seed), true, `w${made}`);
  const b = tf.variable(tf.randomNormal([5], 0, 1, 'float32', seed + 1), true, `b${made}`);
  const x = tf.randomNormal([16, 37], 0, 1, 'float32', seed + 2);
  const loss = () => tf.mean(tf.square(tf.add(tf.matMul(x, w), b).sub(1))) as tf.Scalar;
  return { w, b, loss };
}

describe('FusedAdamOptimizer', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('takes the same steps as tfjs Adam', async () => {
    const a = problem(1);
    const b = problem(1);
    const stock = tf.train.adam(0.01);
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    for (let step = 0; step < 25; step++) {
      stock.minimize(a.loss, false, [a.w, a.b]);
      fused.minimize(b.loss, false, [b.w, b.b]);
    }
    const diff = (x: tf.Tensor, y: tf.Tensor) =>
      Math.max(...Array.from(tf.abs(tf.sub(x, y)).dataSync()));
    expect(diff(a.w, b.w)).toBeLessThan(1e-6);
    expect(diff(a.b, b.b)).toBeLessThan(1e-6);
    const [sw, fw] = [await stock.getWeights(), await fused.getWeights()];
    expect(fw.map((n) => n.name.replace(/\d+/, ''))).toEqual(
      sw.map((n) => n.name.replace(/\d+/, '')),
    );
    expect(fw[0]!.tensor.dataSync()[0]).toBe(25);
    for (let i = 1; i < sw.length; i++)
      expect(diff(sw[i]!.tensor, fw[i]!.tensor)).toBeLessThan(1e-6);
  });

  it('leaves no tensors behind after its first step', () => {
    const p = problem(3);
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    fused.minimize(p.loss, false, [p.w, p.b]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) fused.minimize(p.loss, false, [p.w, p.b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
