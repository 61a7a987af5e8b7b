// The table of model architectures that `--model` accepts.
import type { LayersModel } from '@tensorflow/tfjs';
import { UnknownNameError } from '../errors.js';
import { buildMlp } from './mlp.js';
import { buildPaperCnn } from './paper-cnn.js';
import { buildPaperCnnWide } from './paper-cnn-wide.js';
import type { ModelBuildOptions } from './types.js';
import { buildWideResNet, isWrnDenseLayer } from './wide-resnet.js';

export interface ModelSpec {
  /** The name `--model` takes (for families, a pattern such as `wrn-<depth>-<width>`). */
  readonly name: string;
  /** One line for `--help` and the report. */
  readonly description: string;
  readonly build: (options: ModelBuildOptions) => LayersModel;
  /**
   * Layers that sparse training keeps dense by default, by name (for WRN, DSR's rule: the first conv,
   * the 1×1 shortcuts and the classifier).
   */
  readonly keepDense?: (layerName: string) => boolean;
}

/** The paper-cnn-wide width used when none is given: 90% sparsity then fits the paper CNN's budget. */
export const PAPER_CNN_WIDE_DEFAULT_WIDTH = 3;

const fixed: readonly ModelSpec[] = [
  {
    name: 'paper-cnn',
    description:
      "The paper's baseline: Keras CIFAR-10 tutorial CNN, Conv-Pool-Conv-Pool-Conv-Dense-Dense, 122,570 parameters",
    build: buildPaperCnn,
  },
  {
    name: 'paper-cnn-wide',
    description:
      'The paper CNN with a width multiplier (--width, default 3) and BatchNorm, for sparse training',
    build: (o) =>
      buildPaperCnnWide({ ...o, width: o.width ?? PAPER_CNN_WIDE_DEFAULT_WIDTH, batchNorm: true }),
  },
  {
    name: 'mlp',
    description: 'LeNet-300-100: an MLP with hidden layers of 300 and 100 units',
    build: (o) => buildMlp({ ...o, hidden: [300, 100] }),
  },
];

const WRN_PATTERN = /^wrn-(\d+)-(\d+)$/;

/** The names `--model` accepts, for help texts and error messages. */
export const modelNames = (): string[] => [
  ...fixed.map((m) => m.name),
  'wrn-<depth>-<width> (e.g. wrn-16-2)',
];

/** Looks a model up by name; throws UnknownNameError listing the valid names. */
export function getModel(name: string): ModelSpec {
  const spec = fixed.find((m) => m.name === name);
  if (spec !== undefined) return spec;
  const wrn = WRN_PATTERN.exec(name);
  if (wrn) {
    const depth = Number(wrn[1]);
    const widthFactor = Number(wrn[2]);
    return {
      name,
      description: `Wide ResNet, depth ${depth}, width factor ${widthFactor}, pre-activation, BatchNorm`,
      build: (o) => buildWideResNet({ ...o, depth, widthFactor }),
      keepDense: isWrnDenseLayer,
    };
  }
  throw new UnknownNameError('model', name, modelNames());
}

/** Whether `name` names a model, without building it. */
export function isModelName(name: string): boolean {
  return fixed.some((m) => m.name === name) || WRN_PATTERN.test(name);
}
