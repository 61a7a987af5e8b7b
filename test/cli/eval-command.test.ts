// `dynaprune eval FILE`: accuracy and loss on the runtime and on dense tfjs, and `--compare`'s agreement line.
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerEvalCommand } from '../../src/cli/commands/eval.js';
import { modelToGraph } from '../../src/convert/to-graph.js';
import { initBackend } from '../../src/engine/backend.js';
import { encodeModel } from '../../src/format/index.js';
import { UnknownNameError } from '../../src/errors.js';

const CIFAR = join(import.meta.dirname, '../../../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED eval command tests: ${CIFAR} is absent.`);

const IMAGES = 60;

let folder = '';
let file = '';
beforeAll(async () => {
  await initBackend('cpu');
  folder = await mkdtemp(join(tmpdir(), 'dynaprune-eval-'));
  file = join(folder, 'model.dpr');
  // A small CIFAR-shaped model with seeded weights: conv, pool, dense softmax.
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [32, 32, 3],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    ],
  });
  await writeFile(file, encodeModel(modelToGraph(model)));
  model.dispose();
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Runs `eval` with `args` and returns what it printed to stdout, or throws what it threw. */
async function evalCommand(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerEvalCommand(program);
  const printed: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'dynaprune', 'eval', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return printed.join('');
}

describe('eval', () => {
  it.skipIf(!haveCifar)(
    'scores the same container on both engines alike, and --compare says how closely they agree',
    async () => {
      const text = await evalCommand(
        file,
        '--data-dir',
        CIFAR,
        '--test-limit',
        String(IMAGES),
        '--compare',
        '--backend',
        'cpu',
      );
      const scores = [
        ...text.matchAll(
          /\[(runtime|tfjs)\]: test accuracy ([\d.]+)%, test loss ([\d.]+) on (\d+)/g,
        ),
      ];
      expect(scores.map((m) => m[1])).toEqual(['runtime', 'tfjs']);
      for (const m of scores) expect(Number(m[4])).toBe(IMAGES);
      // One float32 model on two engines: the same accuracy, losses equal to the printed digits.
      expect(scores[0]![2]).toBe(scores[1]![2]);
      expect(Math.abs(Number(scores[0]![3]) - Number(scores[1]![3]))).toBeLessThanOrEqual(1e-4);
      const agreement = /same class on (\d+)\/(\d+) images .* outputs ([\d.e+-]+)/.exec(text);
      expect(agreement).not.toBeNull();
      expect(Number(agreement![2])).toBe(IMAGES);
      expect(Number(agreement![1])).toBeGreaterThanOrEqual(IMAGES - 1);
      expect(Number(agreement![3])).toBeLessThan(1e-4);
    },
    60_000,
  );

  it('refuses an unknown engine or backend before reading any data', async () => {
    await expect(evalCommand(file, '--engine', 'gpu')).rejects.toThrow(UnknownNameError);
    await expect(
      evalCommand(file, '--backend', 'webgpu', '--data-dir', join(folder, 'no-data')),
    ).rejects.toThrow(UnknownNameError);
  });
});
