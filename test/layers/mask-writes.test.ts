// Mask-write notifications: each write that flips positions is reported; a batch reports only its net change.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { DynamicDense } from '../../src/layers/index.js';
import { batchMaskWrites, onMaskWrite, type MaskWrite } from '../../src/layers/masked-layer.js';

function layer(): DynamicDense {
  const dense = new DynamicDense({ name: 'd', units: 3, sparsity: 0.5, seed: 4 });
  dense.apply(tf.input({ shape: [4] }));
  return dense;
}

describe('mask-write notifications', () => {
  const heard: MaskWrite[] = [];
  let stop: (() => void) | undefined;
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterEach(() => {
    stop?.();
    heard.length = 0;
  });
  const listen = () => {
    stop = onMaskWrite((w) => heard.push(w));
  };

  it('reports every write that flips positions, outside a batch', () => {
    const l = layer();
    listen();
    const mask = l.getMask();
    l.writeMaskAndKernel(new Float32Array(mask.length).fill(1), null);
    l.writeMaskAndKernel(mask, null);
    expect(heard).toHaveLength(2);
  });

  it('reports a batch once per layer, with only the positions that differ at its end', () => {
    const l = layer();
    listen();
    const mask = l.getMask();
    const on = mask.indexOf(1);
    const off = mask.indexOf(0);
    const swapped = mask.slice();
    swapped[on] = 0;
    swapped[off] = 1;
    const result = batchMaskWrites(() => {
      // A temporary all-ones mask, undone, then the real change; a nested batch joins this one.
      l.writeMaskAndKernel(new Float32Array(mask.length).fill(1), null);
      l.writeMaskAndKernel(mask, null);
      batchMaskWrites(() => l.writeMaskAndKernel(swapped, null));
      expect(heard).toHaveLength(0);
      return 'done';
    });
    expect(result).toBe('done');
    expect(heard).toHaveLength(1);
    expect(heard[0]!.layer).toBe(l);
    expect([...heard[0]!.changed].sort((a, b) => a - b)).toEqual([on, off].sort((a, b) => a - b));
  });

  it('reports nothing for writes undone inside a batch, and still reports when the batch throws', () => {
    const l = layer();
    listen();
    const mask = l.getMask();
    batchMaskWrites(() => {
      l.writeMaskAndKernel(new Float32Array(mask.length).fill(1), null);
      l.writeMaskAndKernel(mask, null);
    });
    expect(heard).toHaveLength(0);
    expect(() =>
      batchMaskWrites(() => {
        l.writeMaskAndKernel(new Float32Array(mask.length).fill(1), null);
        throw new Error('failed mid-update');
      }),
    ).toThrow('failed mid-update');
    expect(heard).toHaveLength(1);
    expect(heard[0]!.changed).toHaveLength(mask.length - mask.reduce((a, b) => a + b, 0));
  });
});
