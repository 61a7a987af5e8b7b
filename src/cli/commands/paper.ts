// `dynaprune paper`: the paper's comparison end to end, with a report. The README's first command.
import type { Command } from 'commander';
import { join } from 'node:path';
import { backendRequests, type BackendRequest } from '../../engine/backend.js';
import { augmentKinds, type AugmentKind } from '../../experiments/experiment.js';
import { paperModelIds, runPaperComparison, type PaperModelId } from '../../experiments/paper.js';
import { distributionNames, type DistributionName } from '../../sparsity/distributions.js';
import { learningRateSchedules, type LearningRateSchedule } from '../../train/trainer.js';
import { writeReport } from '../../report/report.js';
import { EpochProgress } from '../progress.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from '../parse.js';

interface PaperFlags {
  out: string;
  quick?: boolean;
  dataDir?: string;
  backend: string;
  seed: string;
  epochs?: string;
  trainLimit?: string;
  testLimit?: string;
  width?: string;
  augment: string;
  lrSchedule: string;
  distribution: string;
  reuse?: boolean;
  bnRecalibration: string;
  only?: string;
}

const minutes = (s: number): string =>
  s >= 90 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(0)} s`;

export function registerPaperCommand(program: Command): void {
  program
    .command('paper')
    .description(
      "Reproduce the paper's comparison: the Keras CNN baseline, a DSR-trained CNN at the same nonzero budget, and prune-after-training; writes a report.",
    )
    .option('--out <dir>', 'output folder', 'runs/paper')
    .option('--quick', '5,000 training images and 2 epochs: the whole report in a few minutes')
    .option(
      '--data-dir <path>',
      'local copy of CIFAR-10 (folder or .tar.gz); default $DYNAPRUNE_DATA or the cache',
    )
    .option('--backend <name>', `tfjs backend (${backendRequests.join(', ')})`, 'auto')
    .option('--seed <n>', 'seed for weights, data order and masks', '1')
    .option('--epochs <n>', 'epochs per model (default 10; 2 with --quick)')
    .option('--train-limit <n>', 'use only the first N training images')
    .option('--test-limit <n>', 'use only the first N test images')
    .option('--width <x>', "the dynamic model's width multiplier (default 3)")
    .option(
      '--augment <kind>',
      `augmentation of the sparse models' training images (${augmentKinds.join(', ')}); the baseline, like the paper, uses none`,
      'crop-flip',
    )
    .option(
      '--lr-schedule <name>',
      "the sparse models' learning-rate schedule (constant or cosine)",
      'cosine',
    )
    .option(
      '--distribution <name>',
      `per-layer share of the sparse models' nonzeros (${distributionNames.join(', ')})`,
      'uniform',
    )
    .option(
      '--bn-recalibration <n>',
      'after training, re-estimate BatchNorm statistics from N clean training images (0: off)',
      '10000',
    )
    .option(
      '--reuse',
      'reuse run folders that hold a finished run with the same settings instead of training again',
    )
    .option(
      '--only <ids>',
      `train and report only these models, comma-separated (${paperModelIds.join(', ')})`,
    )
    .action(async (flags: PaperFlags) => {
      const log = (line: string) => process.stderr.write(line + '\n');
      const progress = new EpochProgress();
      let current = { index: 0, count: 0, id: '', epochs: 0 };
      const started = Date.now();
      const epochSeconds: number[] = [];
      const summary = await runPaperComparison(
        {
          out: flags.out,
          quick: flags.quick === true,
          ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
          backend: oneOf<BackendRequest>('backend', flags.backend, backendRequests),
          seed: nonNegativeInt('--seed', flags.seed),
          ...(flags.epochs !== undefined ? { epochs: positiveInt('--epochs', flags.epochs) } : {}),
          ...(flags.trainLimit !== undefined
            ? { trainLimit: positiveInt('--train-limit', flags.trainLimit) }
            : {}),
          ...(flags.testLimit !== undefined
            ? { testLimit: positiveInt('--test-limit', flags.testLimit) }
            : {}),
          ...(flags.width !== undefined ? { width: positiveNumber('--width', flags.width) } : {}),
          augment: oneOf<AugmentKind>('augmentation', flags.augment, augmentKinds),
          distribution: oneOf<DistributionName>(
            'distribution',
            flags.distribution,
            distributionNames,
          ),
          dsrLearningRateSchedule: oneOf<LearningRateSchedule>(
            'learning-rate schedule',
            flags.lrSchedule,
            learningRateSchedules,
          ),
          reuse: flags.reuse === true,
          batchNormRecalibration: nonNegativeInt('--bn-recalibration', flags.bnRecalibration),
          ...(flags.only !== undefined
            ? {
                only: flags.only
                  .split(',')
                  .map((id) => oneOf<PaperModelId>('model id', id.trim(), paperModelIds)),
              }
            : {}),
        },
        {
          onLog: log,
          onModelBegin: (index, count, id, label, epochs) => {
            current = { index, count, id, epochs };
            log(`\n== model ${index}/${count}: ${label}`);
          },
          train: {
            onBatchEnd: (p) => {
              if (p.batch === 1) {
                const prefix = `[${current.index}/${current.count} ${current.id}] `;
                progress.label = prefix;
                progress.begin(p.epoch, p.epochs, p.batches);
              }
              progress.update(p);
            },
            onEpochEnd: (m) => {
              progress.end();
              epochSeconds.push(m.seconds + m.evalSeconds);
              log(
                `[${current.index}/${current.count} ${current.id}] epoch ${m.epoch}: val acc ${(100 * m.valAcc).toFixed(2)}% ` +
                  `loss ${m.valLoss.toFixed(4)} | train acc ${(100 * m.trainAcc).toFixed(2)}% | ${m.imagesPerSecond.toFixed(0)} img/s` +
                  ` | elapsed ${minutes((Date.now() - started) / 1000)}`,
              );
            },
          },
        },
      );
      log('\nwriting the report...');
      const files = await writeReport(flags.out, summary);
      for (const m of summary.models) {
        process.stdout.write(
          `${m.id.padEnd(9)} test acc ${(100 * m.testAcc).toFixed(2)}%  loss ${m.testLoss.toFixed(4)}  nnz ${m.nnz}  ` +
            `stored ${(m.storedBytes / 1024).toFixed(1)} KiB  (dense tfjs ${(m.denseBytes / 1024).toFixed(1)} KiB)\n`,
        );
      }
      process.stdout.write(
        `wrote ${files.length} files to ${flags.out} (open ${join(flags.out, 'report.html')}) in ${minutes(summary.wallSeconds)}\n`,
      );
    });
}
