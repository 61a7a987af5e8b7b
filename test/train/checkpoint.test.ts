// Checkpoints and run folders: bit-exact resume from any checkpoint, checksums, safe pointers, safe clean-up.
import type * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import {
  ChecksumError,
  CorruptFileError,
  DivergedError,
  RunFolderError,
} from '../../src/errors.js';
import {
  hasDiverged,
  train,
  type EpochMetrics,
  type TrainOptions,
} from '../../src/train/trainer.js';
import { prepareRunFolder } from '../../src/train/run-folder.js';
import { slotRenaming } from '../../src/train/checkpoint.js';
import { DSR } from '../../src/algorithms/dsr.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { maskedLayers } from '../../src/layers/index.js';
import { sparseModel } from '../algorithms/helpers.js';
import { syntheticSplit, temporaryFolder, tinyCnn, trainOptions, weightsOf } from './helpers.js';

/** Runs of 10 steps an epoch: 80 training images in batches of 8. */
const options = (model: tf.LayersModel, extra: Partial<TrainOptions> = {}): TrainOptions =>
  trainOptions(model, { train: syntheticSplit(80, 1), batchSize: 8, ...extra });

describe('checkpoints', () => {
  const inFolder = temporaryFolder('dynaprune-ckpt-');
  let fresh = 0;
  const folder = () => inFolder(`run-${++fresh}`);
  /** A run folder holding a checkpoint after `epochs` epochs. */
  const checkpointed = async (epochs = 1): Promise<string> => {
    const runDir = folder();
    await train(options(tinyCnn(3), { epochs, runDir }));
    return runDir;
  };
  const resume = (runDir: string, epochs = 3) =>
    train(options(tinyCnn(99), { epochs, runDir, resume: true }));

  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('a run resumed from its second checkpoint is bit-identical to an uninterrupted one', async () => {
    const full = tinyCnn(3);
    const uninterrupted = await train(options(full, { epochs: 4, runDir: folder() }));
    const runDir = await checkpointed(2);
    const resumedModel = tinyCnn(99);
    const resumed = await train(options(resumedModel, { epochs: 4, runDir, resume: true }));
    expect(weightsOf(resumedModel)).toEqual(weightsOf(full));
    expect(resumed.epochs.map((e) => e.trainLoss)).toEqual(
      uninterrupted.epochs.map((e) => e.trainLoss),
    );
  });

  it('a DSR run killed in its third epoch and resumed is bit-identical: weights, masks, rewiring', async () => {
    // 10 steps an epoch, DSR's default schedule scaled to the 40-step run: it rewires before and after the kill.
    const dsrRun = async (model: tf.LayersModel, runDir: string, extra: Partial<TrainOptions>) => {
      const pruner = new SparseTrainer(model, new DSR());
      return train(
        options(model, {
          epochs: 4,
          runDir,
          ...extra,
          hooks: [pruner, ...(extra.hooks ?? [])],
        }),
      );
    };
    const masksOf = (m: tf.LayersModel) => maskedLayers(m).flatMap((l) => Array.from(l.getMask()));
    const full = await sparseModel(0.8, 4);
    const uninterrupted = await dsrRun(full, folder(), {});
    const rewired = uninterrupted.sparsity.filter((r) => r['prunedCount'] !== undefined);
    expect(rewired.some((r) => r.step < 20) && rewired.some((r) => r.step > 23)).toBe(true);
    const runDir = folder();
    const killed = await dsrRun(await sparseModel(0.8, 4), runDir, {
      hooks: [
        {
          name: 'kill',
          onStepEnd: ({ step }) => {
            if (step === 23) throw new Error('killed in epoch 3');
          },
        },
      ],
    }).catch((e: unknown) => e);
    expect(String(killed)).toMatch(/killed in epoch 3/);
    const resumedModel = await sparseModel(0.8, 99);
    const resumed = await dsrRun(resumedModel, runDir, { resume: true });
    expect(masksOf(resumedModel)).toEqual(masksOf(full));
    expect(weightsOf(resumedModel)).toEqual(weightsOf(full));
    expect(resumed.epochs.map((e) => e.trainLoss)).toEqual(
      uninterrupted.epochs.map((e) => e.trainLoss),
    );
    expect(resumed.sparsity).toEqual(uninterrupted.sparsity);
  });

  it('keeps one checkpoint with a manifest of checksums; a flipped byte in weights.bin is refused', async () => {
    const runDir = await checkpointed(2);
    expect(await readdir(join(runDir, 'checkpoints'))).toEqual(['epoch-002']);
    const weights = join(runDir, 'checkpoints/epoch-002/model/weights.bin');
    const bytes = await readFile(weights);
    bytes[17]! ^= 0x01;
    await writeFile(weights, bytes);
    await expect(resume(runDir)).rejects.toThrow(ChecksumError);
  });

  it('refuses a pointer outside the run folder, a numeric pointer, truncated and missing files', async () => {
    const cases: [string, (runDir: string) => Promise<void>][] = [
      ['outside', (d) => writeFile(join(d, 'checkpoint.json'), '{"latest":"../elsewhere"}')],
      ['absolute', (d) => writeFile(join(d, 'checkpoint.json'), '{"latest":"/tmp/epoch-001"}')],
      ['numeric', (d) => writeFile(join(d, 'checkpoint.json'), '{"latest":1}')],
      ['not JSON', (d) => writeFile(join(d, 'checkpoint.json'), '{"lat')],
      [
        'truncated state.json',
        async (d) => {
          const p = join(d, 'checkpoints/epoch-001/state.json');
          await writeFile(p, (await readFile(p)).subarray(0, 20));
        },
      ],
      [
        'truncated optimizer.bin',
        async (d) => {
          const p = join(d, 'checkpoints/epoch-001/optimizer.bin');
          await writeFile(p, (await readFile(p)).subarray(0, 8));
        },
      ],
      ['missing model.json', (d) => rm(join(d, 'checkpoints/epoch-001/model/model.json'))],
      ['missing manifest', (d) => rm(join(d, 'checkpoints/epoch-001/manifest.json'))],
    ];
    for (const [name, damage] of cases) {
      const runDir = await checkpointed(1);
      await damage(runDir);
      await expect(resume(runDir), name).rejects.toThrow(CorruptFileError);
    }
  });

  it("renames optimizer slots to this process's variables, and refuses slots of another model", () => {
    const spec = (name: string) => ({ name, shape: [1], dtype: 'float32' as const });
    const specs = [
      'iter',
      'dense_Dense1/kernel/m',
      'dense_Dense1/kernel/v',
      'dense_Dense1/bias/m',
    ].map(spec);
    const rename = slotRenaming('optimizer.json', specs, [
      'dense_Dense7/kernel',
      'dense_Dense7/bias',
    ]);
    expect(['iter', 'dense_Dense1/kernel/v', 'dense_Dense1/bias/m'].map(rename)).toEqual([
      'iter',
      'dense_Dense7/kernel/v',
      'dense_Dense7/bias/m',
    ]);
    // Before, another count of variables kept the old names silently: no moment was ever reset again.
    expect(() => slotRenaming('optimizer.json', specs, ['a/kernel', 'a/bias', 'b/kernel'])).toThrow(
      /optimizer slots for 2 variables, but the model trains 3/,
    );
    expect(() => slotRenaming('optimizer.json', specs, ['a/kernel'])).toThrow(CorruptFileError);
    // An optimizer without slots (SGD) has nothing to rename.
    expect(slotRenaming('optimizer.json', [spec('iter')], ['a/kernel'])('iter')).toBe('iter');
  });

  it("refuses to resume with another optimizer than the checkpoint's", async () => {
    const runDir = await checkpointed(1);
    await expect(
      train(options(tinyCnn(99), { epochs: 2, runDir, resume: true, optimizer: 'sgd' })),
    ).rejects.toThrow(/optimizer scalar 'accBeta1'/);
  });

  it('clean-up never follows a symlinked checkpoints/ folder: what it points to survives', async () => {
    const target = inFolder('elsewhere');
    await mkdir(join(target, 'keep-me'), { recursive: true });
    await writeFile(join(target, 'precious.txt'), 'not the run’s');
    await writeFile(join(target, 'keep-me', 'data.bin'), 'x');
    const runDir = folder();
    await mkdir(runDir);
    await symlink(target, join(runDir, 'checkpoints'));
    await train(options(tinyCnn(3), { epochs: 3, runDir }));
    expect((await readdir(target)).sort()).toEqual(['epoch-003', 'keep-me', 'precious.txt']);
    expect(await readFile(join(target, 'keep-me', 'data.bin'), 'utf8')).toBe('x');
  });

  it('removes the temporaries of killed writes on the next start, and only those', async () => {
    const runDir = await checkpointed(1);
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default, so no process has it
    const stale = [
      join(runDir, `.metrics.jsonl.${dead}.1.tmp`),
      join(runDir, 'checkpoints', '.epoch-002.staging'),
    ];
    await writeFile(stale[0]!, 'half');
    await mkdir(stale[1]!);
    const live = join(runDir, `.metrics.jsonl.${process.pid}.1.tmp`);
    await writeFile(live, 'being written');
    await writeFile(join(runDir, 'notes.txt'), 'mine');
    const prepared = await prepareRunFolder(runDir, { resume: true });
    expect([...prepared.removedTemporaries].sort()).toEqual([...stale].sort());
    expect(prepared).toMatchObject({ state: 'resume', checkpointEpoch: 1 });
    expect((await readdir(runDir)).sort()).toContain(`.metrics.jsonl.${process.pid}.1.tmp`);
    expect(await readdir(runDir)).toContain('notes.txt');
  });
});

describe('run folders', () => {
  const inFolder = temporaryFolder('dynaprune-runfolder-');
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('refuses a folder holding a run unless --resume or --overwrite says what to do', async () => {
    const runDir = inFolder('finished');
    await train(options(tinyCnn(3), { epochs: 2, runDir }));
    const metrics = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
    await expect(prepareRunFolder(runDir)).rejects.toThrow(RunFolderError);
    await expect(prepareRunFolder(runDir)).rejects.toThrow(/--resume.*--overwrite/);
    expect(await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).toBe(metrics);
    expect(await readdir(join(runDir, 'checkpoints'))).toEqual(['epoch-002']);
    await writeFile(join(runDir, 'notes.txt'), 'mine');
    expect(await prepareRunFolder(runDir, { overwrite: true })).toMatchObject({
      state: 'overwritten',
    });
    expect((await readdir(runDir)).sort()).toEqual(['checkpoints', 'notes.txt']);
    expect(await readdir(join(runDir, 'checkpoints'))).toEqual([]);
  });

  it('refuses a file or an unwritable place as the run folder with a typed error', async () => {
    const file = inFolder('a-file');
    await writeFile(file, 'x');
    await expect(prepareRunFolder(file)).rejects.toThrow(/is a file/);
    await expect(prepareRunFolder(join(file, 'inside'))).rejects.toThrow(RunFolderError);
    await expect(prepareRunFolder('/sys/dynaprune-run')).rejects.toThrow(RunFolderError);
  });
});

describe('divergence', () => {
  const epoch = (n: number, trainLoss: number, valAcc: number): EpochMetrics => ({
    epoch: n,
    trainLoss,
    trainAcc: valAcc,
    valLoss: trainLoss,
    valAcc,
    seconds: 1,
    imagesPerSecond: 1,
    maskUpdateSeconds: 0,
    evalSeconds: 0,
  });

  it('flags a run stuck above a uniform guess at chance accuracy, and no run that learns', () => {
    const first = epoch(1, 14.2, 0.1);
    expect(hasDiverged(first, epoch(2, 14.47, 0.1), 10)).toBe(true);
    expect(hasDiverged(first, epoch(1, 14.47, 0.1), 10)).toBe(false);
    expect(hasDiverged(first, epoch(2, 14.1, 0.1), 10)).toBe(false);
    expect(hasDiverged(epoch(1, 2.1, 0.2), epoch(2, 2.2, 0.12), 10)).toBe(false);
    expect(hasDiverged(first, epoch(2, 14.5, 0.3), 10)).toBe(false);
  });

  it('stops a diverged run and keeps the last good checkpoint', async () => {
    const runDir = join(tmpdir(), `dynaprune-diverge-${process.pid}`);
    await rm(runDir, { recursive: true, force: true });
    try {
      await train(options(tinyCnn(3), { epochs: 1, runDir }));
      const before = await readFile(join(runDir, 'checkpoints/epoch-001/model/weights.bin'));
      // A learning rate of 50 blows the tiny model up; from epoch 2 it sits at chance.
      const model = tinyCnn(3);
      const error = await train(
        options(model, { epochs: 6, runDir, resume: true, learningRate: 50 }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DivergedError);
      // The pointer names the epoch before the diverged one, whose checkpoint is intact.
      const good = (error as DivergedError).epoch - 1;
      const pointer = JSON.parse(await readFile(join(runDir, 'checkpoint.json'), 'utf8'));
      expect(pointer.latest).toBe(`checkpoints/epoch-${String(good).padStart(3, '0')}`);
      expect(await readdir(join(runDir, 'checkpoints'))).toEqual([pointer.latest.slice(12)]);
      const metrics = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
      expect(metrics).toHaveLength(good);
      if (good === 1) {
        expect(await readFile(join(runDir, 'checkpoints/epoch-001/model/weights.bin'))).toEqual(
          before,
        );
      }
      // And the run resumes from it.
      const resumed = await train(options(tinyCnn(3), { epochs: good + 1, runDir, resume: true }));
      expect(resumed.epochs).toHaveLength(good + 1);
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
  });
});
