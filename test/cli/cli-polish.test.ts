// The dynaprune command's edges: --version, bare help, forgiving names, refusals that say what to do, Ctrl-C, --validation.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInputFits } from '../../src/cli/commands/eval.js';
import { trainConfigFromFlags } from '../../src/cli/commands/train.js';
import { typedCommand } from '../../src/cli/terminal.js';
import {
  InvalidArgumentError,
  RunFolderError,
  ShapeMismatchError,
  UnknownNameError,
} from '../../src/errors.js';
import { runTraining } from '../../src/experiments/experiment.js';
import type { ModelGraph } from '../../src/graph/types.js';

const ROOT = join(import.meta.dirname, '../..');
/** tsx's loader by absolute URL: the CLI runs from a temporary folder, where `tsx` does not resolve. */
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const FASHION = '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(FASHION);
if (!haveFashion) console.warn(`SKIPPED the Ctrl-C test: ${FASHION} is absent.`);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source; `interruptWhen` sends SIGINT once stderr matches it. */
function cli(args: string[], cwd: string, interruptWhen?: RegExp): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=dynaprune-source', '--import', TSX, join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd, env: { ...process.env, DYNAPRUNE_PROGRESS: '0' } },
    );
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (interruptWhen && !sent && interruptWhen.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const flags = {
  model: 'paper-cnn',
  dataset: 'cifar10',
  epochs: '10',
  batchSize: '32',
  learningRate: '0.001',
  backend: 'auto',
  seed: '1',
  method: 'dense',
  distribution: 'uniform',
  lrSchedule: 'constant',
  optimizer: 'adam',
};

describe('dynaprune command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version with --version, and its help with no arguments, exiting 0', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const [v, bare] = await Promise.all([cli(['--version'], dir), cli([], dir)]);
    expect(v).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/Usage: dynaprune[\s\S]*train/);
  });

  it('accepts names in any case and suggests the closest name for a typo', () => {
    const config = trainConfigFromFlags({ ...flags, dataset: 'CIFAR10', model: 'Paper-CNN' });
    expect(config).toMatchObject({ dataset: 'cifar10', model: 'paper-cnn' });
    expect(trainConfigFromFlags({ ...flags, method: 'DSR' }).method).toBe('dsr');
    expect(() => trainConfigFromFlags({ ...flags, dataset: 'cifar-10' })).toThrow(
      /Did you mean "cifar10"\?/,
    );
    expect(() => trainConfigFromFlags({ ...flags, model: 'paper_cnn_wide' })).toThrow(
      /Did you mean "paper-cnn-wide"\?/,
    );
    expect(() => trainConfigFromFlags({ ...flags, model: 'resnet50' })).toThrow(UnknownNameError);
  });

  it('refuses --sparsity with --method dense, and sizes that cannot fit, with typed errors', () => {
    expect(() => trainConfigFromFlags({ ...flags, sparsity: '0.9' })).toThrow(
      /--sparsity 0.9 has no effect with --method dense/,
    );
    expect(trainConfigFromFlags({ ...flags, method: 'dsr' }).sparsity).toBe(0.9);
    expect(trainConfigFromFlags({ ...flags }).sparsity).toBeUndefined();
    expect(() => trainConfigFromFlags({ ...flags, batchSize: '1000000000' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => trainConfigFromFlags({ ...flags, width: '1000' })).toThrow(
      /--width expects at most/,
    );
  });

  it('names a model/dataset mismatch in eval, and the dataset that fits', () => {
    const graph = {
      nodes: [{ op: 'input', name: 'input', shape: [32, 32, 3] }],
    } as unknown as ModelGraph;
    expect(() => checkInputFits('model.dpr', graph, 'fashion-mnist')).toThrow(ShapeMismatchError);
    expect(() => checkInputFits('model.dpr', graph, 'fashion-mnist')).toThrow(
      /takes 32x32x3 inputs, but fashion-mnist images are 28x28x1.*--dataset cifar10/,
    );
    expect(() => checkInputFits('model.dpr', graph, 'cifar10')).not.toThrow();
  });

  it('--resume refuses changed settings except --epochs, which it states', async () => {
    const out = join(dir, 'resume');
    await mkdir(join(out, 'checkpoints', 'epoch-001'), { recursive: true });
    const config = {
      ...trainConfigFromFlags({ ...flags, method: 'dsr', sparsity: '0.9' }),
      out,
      resume: true,
      dataDir: join(dir, 'no-data-here'),
    };
    await writeFile(join(out, 'config.json'), JSON.stringify({ ...config, seed: 1, epochs: 3 }));
    await writeFile(join(out, 'checkpoint.json'), '{"latest":"checkpoints/epoch-001"}');
    const changed = { ...config, seed: 2, sparsity: 0.5, learningRate: 0.01 };
    const error = await runTraining(changed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFolderError);
    expect(String(error)).toMatch(/--learning-rate 0.01 \(the run has 0.001\)/);
    expect(String(error)).toMatch(/--seed 2 \(the run has 1\).*--sparsity 0.5 \(the run has 0.9\)/);
    // Only --epochs differs: accepted and said; the run then stops at the missing data.
    const lines: string[] = [];
    const next = await runTraining(config, { onLog: (l) => lines.push(l) }).catch(
      (e: unknown) => e,
    );
    expect(next).not.toBeInstanceOf(RunFolderError);
    expect(lines.join('\n')).toMatch(/resuming with --epochs 10 \(the run was started with 3\)/);
  });

  it('records the command as typed', () => {
    expect(typedCommand(['train', '--out', 'my runs/a'])).toBe("dynaprune train --out 'my runs/a'");
  });

  it('answers an --out that is a file with a one-line typed error', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await cli(['train', '--out', file, '--dataset', 'fashion-mnist'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^dynaprune: The run folder .* is a file; give --out a folder/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.skipIf(!haveFashion)(
    'on Ctrl-C says where the run can be resumed; the typed command and unverified data are recorded',
    async () => {
      const out = join(dir, 'interrupted');
      const args = [
        'train',
        '--model',
        'mlp',
        '--dataset',
        'fashion-mnist',
        '--train-limit',
        '256',
        '--test-limit',
        '64',
        '--epochs',
        '500',
        '--backend',
        'wasm',
        '--out',
        out,
      ];
      const r = await cli(args, dir, /epoch 3: loss/);
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(
        /interrupted: .* holds the checkpoint of epoch \d+\. Continue with:/,
      );
      expect(r.stderr).toContain(`dynaprune ${args.join(' ')} --resume`);
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
      expect(config.command).toBe(`dynaprune ${args.join(' ')}`);
      // Data without a known checksum is said on screen and recorded.
      expect(r.stderr).toMatch(/from \/usr\/share\/datasets\/fashion-mnist \(NOT verified/);
      expect(config.data).toMatchObject({ origin: 'system', verified: false });
    },
  );

  it.skipIf(!haveFashion)(
    'train --validation holds out the last training images and reads the test set once, at the end',
    async () => {
      const out = join(dir, 'validated');
      const r = await cli(
        [
          'train',
          '--model',
          'mlp',
          '--dataset',
          'fashion-mnist',
          '--train-limit',
          '200',
          '--test-limit',
          '64',
          '--validation',
          '100',
          '--test-each-epoch',
          '--epochs',
          '2',
          '--backend',
          'wasm',
          '--out',
          out,
        ],
        dir,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /200 training, 100 validation \(the last training images, held out\)/,
      );
      expect(r.stdout).toMatch(/^test accuracy .*\(the test set read once, after training\)/);
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
      expect(result.validation).toBe(100);
      const metrics = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { valAcc: number; testAcc: number });
      // Accuracies on 100 validation and 64 test images are multiples of 1/100 and 1/64.
      for (const m of metrics) {
        expect(Math.abs(m.valAcc * 100 - Math.round(m.valAcc * 100))).toBeLessThan(1e-9);
        expect(Math.abs(m.testAcc * 64 - Math.round(m.testAcc * 64))).toBeLessThan(1e-9);
      }
      expect(result.validationAcc).toBe(metrics[1]!.valAcc);
      expect(result.testAcc).toBe(metrics[1]!.testAcc);
    },
  );
});
