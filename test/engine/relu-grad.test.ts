// ReLU's one-pass gradient on tfjs-wasm against tfjs's own formula on the cpu backend, bit for bit.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { Random } from '../../src/util/random.js';

/** The gradient of sum(relu(x) · r) with respect to x on `backend` as bits, and the kernels it ran. */
async function reluGradient(
  backend: string,
  x: Float32Array,
  r: Float32Array,
): Promise<{ bits: number[]; kernels: string[] }> {
  await tf.setBackend(backend);
  let bits: number[] = [];
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      const rt = tf.tensor1d(r);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), rt)))(tf.tensor1d(x));
      // Raw bits (so −0 differs from 0), every NaN as one pattern (its payload is not specified).
      bits = Array.from(new Uint32Array(Float32Array.from(g.dataSync()).buffer), (b) =>
        (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 ? 0x7fc00000 : b,
      );
    });
  });
  return { bits, kernels: profile.kernels.map((k) => k.name) };
}

describe("ReLU's gradient", () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is one kernel on wasm and gives the bits of tfjs mul(dy, step(x)), NaN, ±0 and odd lengths included', async () => {
    const rng = new Random(3);
    for (const size of [1, 3, 4, 17, 1000]) {
      const x = Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
      const r = Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
      // Special values where the sizes allow: 0, −0, NaN in x; a negative gradient at a negative x (−0).
      if (size > 3) [x[0], x[1], x[2], r[3]] = [0, -0, NaN, -2];
      const wasm = await reluGradient('wasm', x, r);
      expect(wasm.kernels).toContain('DynaprunReluGrad');
      expect(wasm.kernels).not.toContain('Step');
      const cpu = await reluGradient('cpu', x, r);
      expect(cpu.kernels).toContain('Step');
      expect(wasm.bits).toEqual(cpu.bits);
    }
    await tf.setBackend('wasm');
  });
});
