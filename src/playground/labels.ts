// How the page feeds a model and names its classes: the container's metadata (input block, labels) when the file
// has it; older files without the block get dynaprune's training convention (bytes / 255) and the dataset's names.
// The decoder has already refused a block that breaks FORMAT.md's rules, so what is present can be used as is.
import type { InputSpec, ModelMetadata } from '../format/metadata.js';

/** What the page needs of a loaded network. */
export interface Described {
  readonly metadata: ModelMetadata;
  readonly inputShape: readonly number[];
}

/** Where the page's input scaling and class names came from, shown beside the model. */
export type Source = 'metadata' | 'default';

/** Class names: the metadata's `labels`, else the served dataset's names. */
export function labelNames(
  net: Described,
  datasetNames: readonly string[],
): { names: readonly string[]; source: Source } {
  const labels = net.metadata.labels;
  if (labels !== undefined) return { names: labels, source: 'metadata' };
  return { names: datasetNames, source: 'default' };
}

/** How raw bytes become the model's input: the metadata's `input` block, else bytes / 255 in the input's layout. */
export function inputSpec(net: Described): { spec: InputSpec; source: Source } {
  const input = net.metadata.input;
  if (input !== undefined) return { spec: input, source: 'metadata' };
  return {
    spec: {
      shape: [...net.inputShape],
      layout: net.inputShape.length === 3 ? 'hwc' : 'features',
      dtype: 'uint8',
      // src/data/batch.ts: dynaprune trains on byte / 255, with no mean or std.
      divisor: 255,
      mean: null,
      std: null,
    },
    source: 'default',
  };
}

/**
 * Scales a batch of raw examples (channels last) as `spec` says: (raw / divisor − mean[c]) / std[c], computed
 * in binary64 and rounded once to binary32, as FORMAT.md specifies.
 */
export function scaleInput(spec: InputSpec, raw: ArrayLike<number>): Float32Array {
  const channels = spec.shape[spec.shape.length - 1]!;
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const c = i % channels;
    let x = raw[i]! / spec.divisor;
    if (spec.mean) x -= spec.mean[c]!;
    if (spec.std) x /= spec.std[c]!;
    out[i] = x;
  }
  return out;
}

/** True when the input is what dynaprune's training loop feeds (bytes / 255, no mean or std): fine-tuning needs it. */
export function trainsLikeDynaprune(spec: InputSpec): boolean {
  return spec.divisor === 255 && spec.mean === null && spec.std === null;
}
