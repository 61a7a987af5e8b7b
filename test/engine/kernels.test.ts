// dynaprune's wasm training kernels against tfjs's cpu backend, over a grid of shapes, strides and paddings.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import {
  registerTrainingKernels,
  type TrainingKernelSet,
} from '../../src/engine/training-kernels.js';
import { Random } from '../../src/util/random.js';
import { randomArray, relativeError } from './compare.js';

/** Runs `f` on a backend with plain arrays in and out, so the two backends never share tensors. */
async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: 'same' | 'valid';
}

const convCases: ConvCase[] = [];
for (const [n, h, w] of [
  [1, 5, 5],
  [2, 7, 6],
  [3, 8, 9],
] as const) {
  for (const [ci, co] of [
    [1, 4],
    [3, 8],
    [5, 12],
    [8, 16],
    [4, 6], // co % 4 != 0: the direct kernel hands over to the transposed convolution
  ] as const) {
    for (const [kh, kw] of [
      [1, 1],
      [3, 3],
      [3, 2],
      [5, 5],
    ] as const) {
      for (const stride of [
        [1, 1],
        [2, 2],
        [3, 1],
      ] as [number, number][]) {
        for (const pad of ['same', 'valid'] as const) {
          if (pad === 'valid' && (kh > h || kw > w)) continue;
          convCases.push({ n, h, w, ci, co, kh, kw, stride, pad });
        }
      }
    }
  }
}

// More output pixels than one block of the direct kernels (256) and a last tile of 2, channel counts that
// leave partial blocks of 8.
convCases.push(
  { n: 5, h: 10, w: 9, ci: 12, co: 20, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 6, h: 13, w: 11, ci: 20, co: 12, kh: 3, kw: 3, stride: [2, 1], pad: 'valid' },
);

describe('wasm training kernels match the cpu backend within 1e-5', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // Without SIMD: every kernel takes its fallback, as when the SIMD kernels fail to load (the input
  // gradient's is the flipped-filter convolution of the stride-dilated output gradient).
  const variants: { set: TrainingKernelSet; simd: boolean }[] = [
    { set: 'all', simd: true },
    { set: 'all', simd: false },
    { set: 'transposed-conv-only', simd: true },
  ];
  for (const { set, simd } of variants) {
    const name = `${set}${simd ? '' : ', SIMD kernels off'}`;
    it(`conv2d filter and input gradients (${name}, ${convCases.length} cases)`, async () => {
      await tf.setBackend('wasm');
      const report = await registerTrainingKernels(set, { simd });
      expect(report.simd.state).toBe(simd ? 'ready' : 'unavailable');
      const rng = new Random(7);
      let worstFilter = 0;
      let worstInput = 0;
      for (const c of convCases) {
        const x = randomArray(rng, c.n * c.h * c.w * c.ci);
        const filter = randomArray(rng, c.kh * c.kw * c.ci * c.co);
        const outShape = tf.tidy(
          () =>
            tf.conv2d(
              tf.zeros([c.n, c.h, c.w, c.ci]) as tf.Tensor4D,
              tf.zeros([c.kh, c.kw, c.ci, c.co]) as tf.Tensor4D,
              c.stride,
              c.pad,
            ).shape,
        );
        const dy = randomArray(
          rng,
          outShape.reduce((a, b) => a * b, 1),
        );
        const grads = (): [Float32Array, Float32Array] =>
          tf.tidy(() => {
            const xT = tf.tensor4d(x, [c.n, c.h, c.w, c.ci]);
            const fT = tf.tensor4d(filter, [c.kh, c.kw, c.ci, c.co]);
            const dyT = tf.tensor(dy, outShape) as tf.Tensor4D;
            const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad),
            )([xT, fT], dyT);
            return [df!.dataSync() as Float32Array, dx!.dataSync() as Float32Array];
          });
        const [wantFilter, wantInput] = await on('cpu', grads);
        const before = tf.memory().numTensors;
        const [gotFilter, gotInput] = await on('wasm', grads);
        expect(tf.memory().numTensors).toBe(before);
        const ef = relativeError(gotFilter, wantFilter);
        const ei = relativeError(gotInput, wantInput);
        worstFilter = Math.max(worstFilter, ef);
        worstInput = Math.max(worstInput, ei);
        expect(ef, `filter gradient ${JSON.stringify(c)}`).toBeLessThan(1e-5);
        expect(ei, `input gradient ${JSON.stringify(c)}`).toBeLessThan(1e-5);
      }
      expect(worstFilter).toBeGreaterThanOrEqual(0);
      expect(worstInput).toBeGreaterThanOrEqual(0);
    });
  }

  it('max-pool gradient, overlapping and tiled windows, odd sizes', async () => {
    await tf.setBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(11);
    let cases = 0;
    for (const [n, h, w, c] of [
      [1, 4, 4, 4],
      [2, 7, 5, 3],
      [2, 9, 8, 8],
      [3, 6, 6, 12],
    ] as const) {
      for (const size of [2, 3] as const) {
        for (const stride of [1, 2, 3] as const) {
          for (const pad of ['same', 'valid'] as const) {
            if (pad === 'valid' && (size > h || size > w)) continue;
            // Integers make ties common, which checks that the first maximum wins, as on cpu.
            const x = randomArray(rng, n * h * w * c).map((v) => Math.round(v * 3));
            const grad = (): Float32Array =>
              tf.tidy(() => {
                const xT = tf.tensor4d(x, [n, h, w, c]);
                const y = tf.maxPool(xT, size, stride, pad);
                const dy = tf.tensor(randomArrayFixed(y.size), y.shape);
                return tf
                  .grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad))(xT, dy)
                  .dataSync() as Float32Array;
              });
            const want = await on('cpu', grad);
            const got = await on('wasm', grad);
            // Overlapping windows sum in a different order; a wrong tie-break would be off by O(1).
            expect(
              relativeError(got, want),
              `pool ${size}/${stride}/${pad} on ${[n, h, w, c]}`,
            ).toBeLessThan(1e-6);
            cases++;
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(40);
  });

  it('transposed matrix products', async () => {
    await tf.setBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(5);
    for (const [batch, m, k, n] of [
      [1, 3, 5, 7],
      [1, 32, 64, 10],
      [3, 4, 9, 2],
    ] as const) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = randomArray(rng, batch * m * k);
          const b = randomArray(rng, batch * k * n);
          const product = (): Float32Array =>
            tf.tidy(() => {
              const aT = tf.tensor3d(a, transposeA ? [batch, k, m] : [batch, m, k]);
              const bT = tf.tensor3d(b, transposeB ? [batch, n, k] : [batch, k, n]);
              return tf.matMul(aT, bT, transposeA, transposeB).dataSync() as Float32Array;
            });
          const want = await on('cpu', product);
          const got = await on('wasm', product);
          expect(relativeError(got, want)).toBeLessThan(1e-5);
        }
      }
    }
  });
});

/** Deterministic gradient values that differ per position. */
function randomArrayFixed(size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = ((i * 7919) % 97) / 97 - 0.5;
  return a;
}

describe('Sum over leading axes (bias gradients)', () => {
  it('matches the cpu backend for NHWC and [batch, units] reductions', async () => {
    await initBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(3);
    for (const [shape, axes] of [
      [
        [32, 30, 30, 32],
        [0, 1, 2],
      ],
      [
        [3, 5, 7, 12],
        [0, 1, 2],
      ],
      [[32, 64], [0]],
      [
        [5, 6, 4],
        [0, 1],
      ],
      [
        [4, 6, 3],
        [0, 1],
      ], // 3 columns: handed to tfjs's own kernel
      [[4, 8], [1]], // not leading: tfjs's own kernel
    ] as [number[], number[]][]) {
      const values = randomArray(
        rng,
        shape.reduce((a, b) => a * b, 1),
      );
      const sum = (): Float32Array =>
        tf.tidy(() => tf.sum(tf.tensor(values, shape), axes).dataSync() as Float32Array);
      const want = await on('cpu', sum);
      const got = await on('wasm', sum);
      expect(relativeError(got, want), `${shape} over ${axes}`).toBeLessThan(1e-5);
    }
  });
});

describe('Tile and Mean', () => {
  it('tile matches the cpu backend for broadcast and general repetitions', async () => {
    await initBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(4);
    for (const [shape, reps] of [
      [
        [1, 1, 1, 5],
        [4, 3, 2, 1],
      ],
      [
        [2, 3],
        [3, 2],
      ],
      [[3], [4]],
      [
        [2, 1, 3],
        [1, 4, 2],
      ],
      [
        [2, 2, 2, 2],
        [2, 1, 3, 2],
      ],
    ] as [number[], number[]][]) {
      const values = randomArray(
        rng,
        shape.reduce((a, b) => a * b, 1),
      );
      for (const dtype of ['float32', 'int32'] as const) {
        const tile = (): number[] =>
          tf.tidy(() =>
            Array.from(
              tf
                .tile(
                  tf.tensor(
                    dtype === 'int32' ? values.map((v) => Math.round(v * 9)) : values,
                    shape,
                    dtype,
                  ),
                  reps,
                )
                .dataSync(),
            ),
          );
        const want = await on('cpu', tile);
        const got = await on('wasm', tile);
        expect(got, `${dtype} ${shape} x ${reps}`).toEqual(want);
      }
    }
  });

  it('mean over leading axes matches the cpu backend', async () => {
    await initBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(8);
    for (const [shape, axes, keepDims] of [
      [[32, 13, 13, 192], [0, 1, 2], false],
      [[7, 5, 12], [0, 1], true],
      [[6, 3], [0], false],
    ] as [number[], number[], boolean][]) {
      const values = randomArray(
        rng,
        shape.reduce((a, b) => a * b, 1),
      );
      const mean = (): Float32Array =>
        tf.tidy(() => tf.mean(tf.tensor(values, shape), axes, keepDims).dataSync() as Float32Array);
      expect(relativeError(await on('wasm', mean), await on('cpu', mean))).toBeLessThan(1e-5);
    }
  });
});

describe('Transpose', () => {
  it('swaps the last two axes like the cpu backend, and leaves other permutations to tfjs', async () => {
    await initBackend('wasm');
    await registerTrainingKernels('all');
    const rng = new Random(6);
    for (const [shape, perm] of [
      [
        [17, 33],
        [1, 0],
      ],
      [
        [3, 5, 40],
        [0, 2, 1],
      ],
      [
        [2, 3, 7, 9],
        [0, 1, 3, 2],
      ],
      [
        [4, 6, 5],
        [2, 0, 1],
      ],
      [
        [1, 1],
        [1, 0],
      ],
    ] as [number[], number[]][]) {
      const values = randomArray(
        rng,
        shape.reduce((a, b) => a * b, 1),
      );
      const t = (): Float32Array =>
        tf.tidy(() => tf.transpose(tf.tensor(values, shape), perm).dataSync() as Float32Array);
      expect(Array.from(await on('wasm', t)), `${shape} ${perm}`).toEqual(
        Array.from(await on('cpu', t)),
      );
    }
  });
});
