// The table of model architectures that `--model` accepts.
import type { LayersModel } from '@tensorflow/tfjs';
import { UnknownNameError } from '../errors.js';
import { buildPaperCnn } from './paper-cnn.js';
import type { ModelBuildOptions } from './types.js';

export interface ModelSpec {
  /** The name `--model` takes. */
  readonly name: string;
  /** One line for `--help` and the report. */
  readonly description: string;
  readonly build: (options: ModelBuildOptions) => LayersModel;
}

export const models: readonly ModelSpec[] = [
  {
    name: 'paper-cnn',
    description:
      "The paper's baseline: Keras CIFAR-10 tutorial CNN, Conv-Pool-Conv-Pool-Conv-Dense-Dense, 122,570 parameters",
    build: buildPaperCnn,
  },
];

export const modelNames = (): string[] => models.map((m) => m.name);

/** Looks a model up by name; throws UnknownNameError listing the valid names. */
export function getModel(name: string): ModelSpec {
  const spec = models.find((m) => m.name === name);
  if (spec === undefined) throw new UnknownNameError('model', name, modelNames());
  return spec;
}
