// `dynaprune train`: trains one model on one dataset and writes a run folder.
import type { Command } from 'commander';
import { backendRequests, type BackendRequest } from '../../engine/backend.js';
import { kernelModes, type KernelMode } from '../../engine/sparse-choice.js';
import {
  augmentKinds,
  runTraining,
  type AugmentKind,
  type TrainingRunConfig,
} from '../../experiments/experiment.js';
import {
  learningRateSchedules,
  optimizerNames,
  type LearningRateSchedule,
  type OptimizerName,
} from '../../train/trainer.js';
import { DataProgressBar, EpochProgress } from '../progress.js';
import { InvalidArgumentError } from '../../errors.js';
import { checkpointEpoch } from '../../train/checkpoint.js';
import { onInterrupt, typedCommand } from '../terminal.js';
import {
  boundedNumber,
  fraction,
  nonNegativeInt,
  nonNegativeNumber,
  oneOf,
  positiveInt,
  positiveNumber,
  sparsity as sparsityValue,
} from '../parse.js';
import { methodNames, type MethodName } from '../../algorithms/registry.js';
import { distributionNames, type DistributionName } from '../../sparsity/distributions.js';
import { datasetNames } from '../../data/registry.js';
import { isModelName, modelNames } from '../../models/registry.js';

export interface TrainFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  epochs: string;
  batchSize: string;
  learningRate: string;
  trainLimit?: string;
  testLimit?: string;
  validation?: string;
  testEachEpoch?: boolean;
  backend: string;
  threads?: string;
  seed: string;
  out?: string;
  resume?: boolean;
  overwrite?: boolean;
  augment?: string | boolean;
  method: string;
  sparsity?: string;
  distribution: string;
  np?: string;
  rewirePeriod?: string;
  dropFraction?: string;
  width?: string;
  bnMomentum?: string;
  bnRecalibration?: string;
  finetuneEpochs?: string;
  lrSchedule: string;
  optimizer: string;
  momentum?: string;
  weightDecay?: string;
  kernels?: string;
}

/** Larger batches than this do not fit WebAssembly's memory for the CIFAR-10 models. */
const MAX_BATCH_SIZE = 4096;
/** paper-cnn-wide at width 16 has 512 and 1,024 filters; wider ones exhaust memory before training. */
const MAX_WIDTH = 16;

/** The model name, without regard to case (`Paper-CNN`). */
function modelName(given: string): string {
  const lower = given.toLowerCase();
  return isModelName(lower) ? lower : oneOf('model', given, modelNames());
}

/** The sparsity flag: an error with the dense method (which has no sparsity), else default 0.9. */
function sparsityFlag(method: MethodName, given: string | undefined): number {
  if (method === 'dense') {
    if (given !== undefined) {
      throw new InvalidArgumentError(
        `--sparsity ${given} has no effect with --method dense (a dense model has no zeros to keep). ` +
          `Choose a sparse method (${methodNames.filter((m) => m !== 'dense').join(', ')}) or drop --sparsity.`,
      );
    }
    return 0;
  }
  return sparsityValue('--sparsity', given ?? '0.9');
}

/**
 * `--validation N` (hold out the last N training images; runTraining does the split, as for `paper`) and
 * `--test-each-epoch`, which needs it: without a held-out split every epoch is already evaluated on test.
 */
function validationFlags(
  flags: TrainFlags,
): Pick<TrainingRunConfig, 'validation' | 'testEachEpoch'> {
  if (flags.validation === undefined) {
    if (flags.testEachEpoch) {
      throw new InvalidArgumentError(
        '--test-each-epoch needs --validation N: without a held-out split, every epoch is already ' +
          'evaluated on the test set. Add --validation 5000, or drop --test-each-epoch.',
      );
    }
    return {};
  }
  return {
    validation: positiveInt('--validation', flags.validation),
    ...(flags.testEachEpoch ? { testEachEpoch: true } : {}),
  };
}

/** Parses the flags into a run configuration; every bad value throws a typed error. */
export function trainConfigFromFlags(flags: TrainFlags): TrainingRunConfig {
  const method = oneOf<MethodName>('method', flags.method, methodNames);
  const sparsity = sparsityFlag(method, flags.sparsity);
  return {
    model: modelName(flags.model),
    dataset: oneOf('dataset', flags.dataset, datasetNames()),
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    epochs: positiveInt('--epochs', flags.epochs),
    batchSize: boundedNumber(
      '--batch-size',
      String(positiveInt('--batch-size', flags.batchSize)),
      MAX_BATCH_SIZE,
      "larger batches do not fit in WebAssembly's memory for the CIFAR-10 models.",
    ),
    learningRate: positiveNumber('--learning-rate', flags.learningRate),
    ...(flags.trainLimit !== undefined
      ? { trainLimit: positiveInt('--train-limit', flags.trainLimit) }
      : {}),
    ...(flags.testLimit !== undefined
      ? { testLimit: positiveInt('--test-limit', flags.testLimit) }
      : {}),
    ...validationFlags(flags),
    backend: oneOf<BackendRequest>('backend', flags.backend, backendRequests),
    ...(flags.threads !== undefined ? { threads: positiveInt('--threads', flags.threads) } : {}),
    seed: nonNegativeInt('--seed', flags.seed),
    out:
      flags.out ??
      `runs/${flags.model}-${flags.dataset}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    resume: flags.resume === true,
    ...(flags.overwrite === true ? { overwrite: true } : {}),
    augment:
      flags.augment === undefined || flags.augment === false
        ? 'none'
        : flags.augment === true
          ? 'crop-flip'
          : oneOf<AugmentKind>('augmentation', flags.augment, augmentKinds),
    method,
    ...(method === 'dense' ? {} : { sparsity }),
    distribution: oneOf<DistributionName>('distribution', flags.distribution, distributionNames),
    ...(flags.np !== undefined ? { targetPruned: positiveInt('--np', flags.np) } : {}),
    ...(flags.rewirePeriod !== undefined
      ? { period: positiveInt('--rewire-period', flags.rewirePeriod) }
      : {}),
    ...(flags.dropFraction !== undefined
      ? { dropFraction: fraction('--drop-fraction', flags.dropFraction) }
      : {}),
    ...(flags.width !== undefined
      ? {
          width: boundedNumber(
            '--width',
            flags.width,
            MAX_WIDTH,
            'wider models (512 and 1,024 filters at 16) exhaust memory before training starts.',
          ),
        }
      : {}),
    ...(flags.bnRecalibration !== undefined
      ? {
          batchNormRecalibration: nonNegativeInt('--bn-recalibration', flags.bnRecalibration),
        }
      : {}),
    ...(flags.bnMomentum !== undefined
      ? { batchNormMomentum: fraction('--bn-momentum', flags.bnMomentum) }
      : {}),
    optimizer: oneOf<OptimizerName>('optimizer', flags.optimizer, optimizerNames),
    ...(flags.momentum !== undefined ? { momentum: fraction('--momentum', flags.momentum) } : {}),
    ...(flags.weightDecay !== undefined
      ? { weightDecay: nonNegativeNumber('--weight-decay', flags.weightDecay) }
      : {}),
    kernels: oneOf<KernelMode>('kernel mode', flags.kernels ?? 'auto', kernelModes),
    learningRateSchedule: oneOf<LearningRateSchedule>(
      'learning-rate schedule',
      flags.lrSchedule,
      learningRateSchedules,
    ),
    ...(flags.finetuneEpochs !== undefined
      ? { finetuneEpochs: nonNegativeInt('--finetune-epochs', flags.finetuneEpochs) }
      : {}),
  };
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'Train a model and write a run folder (config, metrics, checkpoints, final model).',
    )
    .option('--model <name>', `model architecture (${modelNames().join(', ')})`, 'paper-cnn')
    .option('--dataset <name>', `dataset (${datasetNames().join(', ')})`, 'cifar10')
    .option(
      '--data-dir <path>',
      'local copy of the dataset (folder or .tar.gz); default $DYNAPRUNE_DATA or the cache',
    )
    .option('--epochs <n>', 'training epochs', '10')
    .option('--batch-size <n>', 'images per optimizer step', '32')
    .option('--learning-rate <x>', "Adam's learning rate", '0.001')
    .option(
      '--lr-schedule <name>',
      'constant (the paper), cosine decay to 0, or step (x0.2 at 30/60/80%: the WRN recipe)',
      'constant',
    )
    .option(
      '--optimizer <name>',
      `adam (the paper) or sgd with momentum (${optimizerNames.join(', ')})`,
      'adam',
    )
    .option('--momentum <m>', 'SGD momentum (default 0.9)')
    .option('--weight-decay <wd>', 'L2 weight decay on kernels (default 0; WRN uses 0.0005)')
    .option('--train-limit <n>', 'use only the first N training images (quick runs)')
    .option('--test-limit <n>', 'use only the first N test images (quick runs)')
    .option(
      '--validation <n>',
      'hold out the last N training images for per-epoch validation (and every choice); the test set is then evaluated once, at the end (default: validate on the test set, as the paper does)',
    )
    .option(
      '--test-each-epoch',
      'with --validation: also evaluate the test set after every epoch (reported apart)',
    )
    .option('--backend <name>', `tfjs backend (${backendRequests.join(', ')})`, 'auto')
    .option(
      '--threads <n>',
      'threads to train on (wasm backend in Node; same results on any count); default half the cores',
    )
    .option(
      '--kernels <mode>',
      'masked layers on wasm: auto (sparse kernels below the measured crossover density), dense or sparse',
      'auto',
    )
    .option('--seed <n>', 'seed for weights, data order and masks', '1')
    .option('--out <dir>', 'run folder (default runs/<model>-<dataset>-<time>)')
    .option(
      '--resume',
      "continue from the run folder's last checkpoint (settings must match; --epochs may grow)",
    )
    .option('--overwrite', 'replace an earlier run in the --out folder (its files only)')
    .option(
      '--augment [kind]',
      'augment training images: crop-flip (random crop, padding 4, and flips; the default kind) or flip',
    )
    .option('--method <name>', `pruning method (${methodNames.join(', ')})`, 'dense')
    .option(
      '--sparsity <s>',
      'target sparsity: the fraction of zero weights in the sparse layers (default 0.9; not with dense)',
    )
    .option(
      '--distribution <name>',
      `per-layer share of nonzeros (${distributionNames.join(', ')})`,
      'uniform',
    )
    .option('--np <n>', 'DSR: weights to prune per rewiring (default 5% of the nonzeros)')
    .option(
      '--rewire-period <n>',
      'DSR: first rewiring period in steps, doubled three times (default 100); SET/RigL/GMP: update period',
    )
    .option(
      '--drop-fraction <f>',
      'SET/RigL: fraction of active weights dropped per update (default 0.3)',
    )
    .option('--width <x>', 'width multiplier for paper-cnn-wide (default 3)')
    .option(
      '--bn-recalibration <n>',
      'after training, re-estimate BatchNorm statistics from N clean training images, never the held-out ones; judged on the validation split (default 0: off)',
    )
    .option(
      '--bn-momentum <m>',
      'BatchNorm moving-average momentum (default 0.99; 0.9 suits runs of a few hundred steps)',
    )
    .option('--finetune-epochs <n>', 'oneshot: epochs of fine-tuning after pruning (default 0)')
    .action(async (flags: TrainFlags) => {
      const config = {
        ...trainConfigFromFlags(flags),
        command: typedCommand(process.argv.slice(2)),
      };
      const progress = new EpochProgress();
      const dataProgress = new DataProgressBar();
      const log = (line: string) => process.stderr.write(line + '\n');
      onInterrupt(async () => {
        progress.end();
        dataProgress.end();
        log(await interruptionNote(config));
      });
      const result = await runTraining(config, {
        onLog: log,
        onDownload: (p) => dataProgress.update(p),
        train: {
          onBatchEnd: (p) => {
            dataProgress.end();
            if (p.batch === 1) progress.begin(p.epoch, p.epochs, p.batches);
            progress.update(p);
          },
          onWarning: (message) => log(`warning: ${message}`),
          onEpochEnd: (m) => {
            progress.end();
            log(
              `epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAcc).toFixed(2)}% | ` +
                `val loss ${m.valLoss.toFixed(4)} acc ${(100 * m.valAcc).toFixed(2)}% | ` +
                (m.testAcc !== undefined
                  ? `test loss ${m.testLoss!.toFixed(4)} acc ${(100 * m.testAcc).toFixed(2)}% | `
                  : '') +
                `${m.imagesPerSecond.toFixed(0)} img/s, ${m.seconds.toFixed(1)} s`,
            );
          },
        },
      });
      process.stdout.write(
        `test accuracy ${(100 * result.final.acc).toFixed(2)}%, test loss ${result.final.loss.toFixed(4)} ` +
          (config.validation !== undefined ? '(the test set read once, after training) ' : '') +
          `(${result.outDir})\n`,
      );
    });
}

/** What Ctrl-C prints: where the run stopped and the command that continues it. */
async function interruptionNote(config: TrainingRunConfig): Promise<string> {
  const epoch = await checkpointEpoch(config.out);
  if (epoch === undefined) {
    return `\ninterrupted before the first epoch ended: ${config.out} holds no checkpoint to resume.`;
  }
  const args = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--overwrite');
  const hasOut = args.some((a) => a === '--out' || a.startsWith('--out='));
  return (
    `\ninterrupted: ${config.out} holds the checkpoint of epoch ${epoch}. Continue with:\n  ` +
    typedCommand([...args, ...(hasOut ? [] : ['--out', config.out]), '--resume'])
  );
}
