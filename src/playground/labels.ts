// How to feed a model and name its classes: from the container's metadata when it says, else CIFAR-10's defaults.
import type { ModelGraph } from '../graph/types.js';

// TODO(#13 point 2): read the container's input block and labels once the metadata block lands (branch i13fmt).
const CIFAR10 = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;

/** Class names: the metadata's `labels`, else the dataset's names, else CIFAR-10's for 10 classes. */
export function labelNames(
  graph: ModelGraph,
  datasetNames: readonly string[] = [],
): readonly string[] {
  const fromFile = strings(graph.metadata['labels']) ?? strings(graph.metadata['labelNames']);
  if (fromFile) return fromFile;
  if (datasetNames.length > 0) return datasetNames;
  return CIFAR10;
}

/** The factor from pixel bytes to the model's input: the metadata's `inputScale`, else 1/255 (dynaprune's training). */
export function inputScale(graph: ModelGraph): number {
  const scale = graph.metadata['inputScale'];
  return typeof scale === 'number' && scale > 0 ? scale : 1 / 255;
}
