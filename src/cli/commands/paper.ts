// `dynaprune paper`: the paper's comparison at its nonzero budget, over seeds, in parallel; writes a report.
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { backendRequests, type BackendRequest } from '../../engine/backend.js';
import { augmentKinds, type AugmentKind } from '../../experiments/experiment.js';
import type { OverallProgress } from '../../experiments/paper-jobs.js';
import {
  paperRowIds,
  runPaperComparison,
  type PaperEvents,
  type PaperRowId,
} from '../../experiments/paper.js';
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
  threads?: string;
  seed: string;
  seeds?: string;
  jobs: string;
  epochs?: string;
  trainLimit?: string;
  testLimit?: string;
  validation?: string;
  testEachEpoch?: boolean;
  width?: string;
  augment: string;
  lrSchedule: string;
  distribution: string;
  reuse?: boolean;
  bnRecalibration: string;
  sparseInit?: boolean;
  only?: string;
}

/** A duration for people: seconds, minutes, or hours and minutes. */
export const duration = (s: number): string =>
  s < 90
    ? `${s.toFixed(0)} s`
    : s < 5400
      ? `${(s / 60).toFixed(0)} min`
      : `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;

/** The overall line: runs done, share of all steps, elapsed time and the ETA. */
export function overallLine(o: OverallProgress): string {
  const share = o.totalSteps > 0 ? (100 * o.steps) / o.totalSteps : 0;
  return (
    `overall: ${o.jobsDone}/${o.jobs} runs, ${share.toFixed(0)}% of all steps, ${duration(o.elapsedSeconds)} elapsed` +
    (o.etaSeconds === undefined ? '' : `, about ${duration(o.etaSeconds)} left`)
  );
}

function options(flags: PaperFlags, command: string) {
  return {
    out: flags.out,
    quick: flags.quick === true,
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    backend: oneOf<BackendRequest>('backend', flags.backend, backendRequests),
    ...(flags.threads !== undefined ? { threads: positiveInt('--threads', flags.threads) } : {}),
    seed: nonNegativeInt('--seed', flags.seed),
    ...(flags.seeds !== undefined ? { seeds: positiveInt('--seeds', flags.seeds) } : {}),
    jobs: positiveInt('--jobs', flags.jobs),
    ...(flags.epochs !== undefined ? { epochs: positiveInt('--epochs', flags.epochs) } : {}),
    ...(flags.trainLimit !== undefined
      ? { trainLimit: positiveInt('--train-limit', flags.trainLimit) }
      : {}),
    ...(flags.testLimit !== undefined
      ? { testLimit: positiveInt('--test-limit', flags.testLimit) }
      : {}),
    ...(flags.validation !== undefined
      ? { validation: positiveInt('--validation', flags.validation) }
      : {}),
    ...(flags.testEachEpoch ? { testEachEpoch: true } : {}),
    ...(flags.width !== undefined ? { width: positiveNumber('--width', flags.width) } : {}),
    augment: oneOf<AugmentKind>('augmentation', flags.augment, augmentKinds),
    distribution: oneOf<DistributionName>('distribution', flags.distribution, distributionNames),
    learningRateSchedule: oneOf<LearningRateSchedule>(
      'learning-rate schedule',
      flags.lrSchedule,
      learningRateSchedules,
    ),
    reuse: flags.reuse === true,
    batchNormRecalibration: nonNegativeInt('--bn-recalibration', flags.bnRecalibration),
    ...(flags.sparseInit ? { sparseInit: true } : {}),
    ...(flags.only !== undefined
      ? {
          only: flags.only
            .split(',')
            .map((id) => oneOf<PaperRowId>('row', id.trim().toLowerCase(), paperRowIds)),
        }
      : {}),
    command,
  };
}

/**
 * What `paper` prints while it trains: each run's log lines and epochs on stderr with the overall ETA, and
 * a progress bar per epoch when one run trains at a time (several runs' bars would overwrite each other).
 */
function progressPrinter(jobs: number, log: (line: string) => void): PaperEvents {
  const bar = jobs === 1 ? new EpochProgress() : undefined;
  const name = (j: { row: string; seed: number }) => `${j.row} seed ${j.seed}`;
  return {
    onLog: (job, line) => {
      bar?.end();
      log(`[${name(job)}] ${line}`);
    },
    onPhase: log,
    onJobBegin: (job) => log(`\n== ${job.label}, seed ${job.seed} (${job.config.out})`),
    onBatch: (job, p) => {
      if (!bar) return;
      if (p.batch === 1) {
        bar.label = `[${name(job)}] `;
        bar.begin(p.epoch, p.epochs, p.batches);
      }
      bar.update(p);
    },
    onEpoch: (job, m, overall) => {
      bar?.end();
      log(
        `[${name(job)}] epoch ${m.epoch}: validation acc ${(100 * m.valAcc).toFixed(2)}% loss ${m.valLoss.toFixed(4)}` +
          (m.testAcc !== undefined ? ` | test acc ${(100 * m.testAcc).toFixed(2)}%` : '') +
          ` | train acc ${(100 * m.trainAcc).toFixed(2)}% | ${m.imagesPerSecond.toFixed(0)} img/s`,
      );
      log(overallLine(overall));
    },
    onThreads: (job, h) =>
      log(
        `[${name(job)}] handed ${h.added} more thread${h.added === 1 ? '' : 's'} (freed by ` +
          `${h.freedBy.map(name).join(', ')}): resuming after epoch ${h.epochsDone}/${h.epochs} ` +
          `on ${h.threads} threads`,
      ),
    onJobEnd: (job, origin, overall) => {
      if (origin === 'reused') log(`[${name(job)}] reused the finished run`);
      log(overallLine(overall));
    },
  };
}

export function registerPaperCommand(program: Command): void {
  program
    .command('paper')
    .description(
      "The paper's comparison at its nonzero budget (122,570): the Keras CNN as the paper trained it and with our recipe, a small dense CNN, and a 3x-wide CNN made sparse by static masks, SET, RigL, GMP, one-shot pruning and DSR, over seeds; writes a report.",
    )
    .option('--out <dir>', 'output folder', 'runs/paper')
    .option(
      '--quick',
      'a preview: 3 rows, 1 seed, 5,000 training images, 2 epochs, evaluated on subsets (not comparable with the paper)',
    )
    .option(
      '--data-dir <path>',
      'local copy of CIFAR-10 (folder or .tar.gz); default $DYNAPRUNE_DATA or the cache',
    )
    .option('--backend <name>', `tfjs backend (${backendRequests.join(', ')})`, 'auto')
    .option(
      '--threads <n>',
      'threads per run (wasm backend in Node; same results on any count); default half the cores / --jobs, and once no run waits, a finished run hands its threads to a running one (which resumes on them from its next epoch checkpoint)',
    )
    .option('--seed <n>', 'the first seed (weights, data order, masks)', '1')
    .option(
      '--seeds <n>',
      'seeds per row (default 3; 1 with --quick; the dense upper bound runs 1)',
    )
    .option(
      '--jobs <n>',
      'runs trained at once, each in its own process',
      String(availableParallelism()),
    )
    .option('--epochs <n>', 'epochs per model (default 10; 2 with --quick)')
    .option('--train-limit <n>', 'train on only the first N training images')
    .option(
      '--test-limit <n>',
      'test on only the first N test images (default all; 2,000 with --quick)',
    )
    .option(
      '--validation <n>',
      'hold out the last N training images for per-epoch validation (default 5,000; 1,000 with --quick)',
    )
    .option('--test-each-epoch', 'also evaluate the test set after every epoch (reported apart)')
    .option('--width <x>', "the sparse models' width multiplier (default 3)")
    .option(
      '--augment <kind>',
      `augmentation for our recipe (${augmentKinds.join(', ')}); the paper's row never augments`,
      'crop-flip',
    )
    .option('--lr-schedule <name>', "our recipe's learning-rate schedule", 'cosine')
    .option(
      '--distribution <name>',
      `per-layer share of the sparse models' nonzeros (${distributionNames.join(', ')})`,
      'uniform',
    )
    .option(
      '--bn-recalibration <n>',
      'after training, re-estimate BatchNorm statistics from N clean training images, never the held-out ones; judged on the validation split (0: off)',
      '10000',
    )
    .option(
      '--sparse-init',
      "scale each sparse unit's initial weights to its active fan-in (Evci et al. 2022; off by default)",
    )
    .option(
      '--reuse',
      'reuse finished runs with the same settings and resume interrupted ones from their last checkpoint',
    )
    .option(
      '--only <rows>',
      `train and report only these rows, comma-separated (${paperRowIds.join(', ')})`,
    )
    .action(async (flags: PaperFlags) => {
      const log = (line: string) => process.stderr.write(line + '\n');
      const command = `dynaprune ${process.argv.slice(2).join(' ')}`;
      const parsed = options(flags, command);
      const interrupted = () => {
        log(
          `\ninterrupted. Every finished epoch is checkpointed under ${join(flags.out, 'runs')}; ` +
            `resume with:\n  ${command.includes('--reuse') ? command : `${command} --reuse`}`,
        );
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      const summary = await runPaperComparison(parsed, progressPrinter(parsed.jobs, log));
      process.removeListener('SIGINT', interrupted);
      log('\nwriting the report (charts rendered to SVG and PNG)...');
      const files = await writeReport(flags.out, summary);
      for (const m of summary.models) {
        const seeds = m.seeds ?? [];
        process.stdout.write(
          `${m.id.padEnd(15)} test acc ${(100 * m.testAcc).toFixed(2)}%` +
            (seeds.length > 1 ? ` (mean of ${seeds.length} seeds)` : '') +
            `  nnz ${m.nnz}  stored ${(m.storedBytes / 1024).toFixed(1)} KiB\n`,
        );
      }
      process.stdout.write(
        `wrote ${files.length} files to ${flags.out} (open ${join(flags.out, 'report.html')}) in ${duration(summary.wallSeconds)}\n`,
      );
    });
}
