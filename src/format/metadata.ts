// The container's self-description: how to feed the model (input), what its outputs are (labels), where it came from (provenance).

/** How to turn one raw example into the model's input (FORMAT.md, "Metadata"). */
export interface InputSpec {
  /** One example without the batch axis; equal to the input node's shape. */
  readonly shape: readonly number[];
  /** `hwc` for images ([h, w, c], channels last), `features` for vectors. */
  readonly layout: 'hwc' | 'features';
  /** What a raw example holds: `uint8` bytes (image pixels, 0 to 255). */
  readonly dtype: 'uint8';
  /** x = (raw / divisor − mean[c]) / std[c], computed in binary64 and rounded once to binary32. */
  readonly divisor: number;
  /** Per-channel mean (c values) subtracted after dividing, or null for none. */
  readonly mean: readonly number[] | null;
  /** Per-channel standard deviation (c values, each > 0) divided by last, or null for none. */
  readonly std: readonly number[] | null;
}

/** How the model was made. Every key is present; null where it is not known. */
export interface Provenance {
  /** The training method (`dsr`, `set`, `rigl`, `gmp`, `static`, `oneshot`, `dense`, ...). */
  readonly method: string | null;
  /** Fraction of zeros over all conv2d and dense weights, as stored. */
  readonly sparsity: number;
  /** The dataset's registry name (`cifar10`, `fashion-mnist`, `mnist`), or null. */
  readonly dataset: string | null;
  /** Accuracy on the dataset's test split, in [0, 1], or null if not measured. */
  readonly testAccuracy: number | null;
  /** The dynaprune version that wrote the file. */
  readonly dynapruneVersion: string;
}

/** The metadata members FORMAT.md specifies; any other member is free JSON. */
export interface ModelMetadata {
  readonly input?: InputSpec;
  /** Class names, one per output unit (the output's last axis). */
  readonly labels?: readonly string[];
  readonly provenance?: Provenance;
  readonly [key: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const unit = (v: unknown): boolean => finite(v) && v >= 0 && v <= 1;

/** Checks one per-channel list: null, or `length` finite numbers (positive ones for `positive`). */
function channelList(v: unknown, length: number, positive: boolean): string | undefined {
  if (v === null) return undefined;
  if (
    !Array.isArray(v) ||
    v.length !== length ||
    !v.every((x) => finite(x) && (!positive || x > 0))
  )
    return `must be null or ${length} finite${positive ? ' positive' : ''} numbers, one per channel`;
  return undefined;
}

function inputProblem(input: unknown, inputShape: readonly number[]): string | undefined {
  if (!isObject(input)) return 'must be an object';
  const shape = input['shape'];
  if (!Array.isArray(shape) || shape.join(',') !== inputShape.join(','))
    return `shape must be the input node's [${inputShape.join(', ')}], found ${JSON.stringify(shape)}`;
  const layout = inputShape.length === 3 ? 'hwc' : 'features';
  if (input['layout'] !== layout) return `layout must be "${layout}" for this input shape`;
  if (input['dtype'] !== 'uint8') return 'dtype must be "uint8"';
  if (!finite(input['divisor']) || input['divisor'] <= 0)
    return 'divisor must be a finite number above 0';
  const channels = inputShape[inputShape.length - 1]!;
  const mean = channelList(input['mean'], channels, false);
  if (mean) return `mean ${mean}`;
  const std = channelList(input['std'], channels, true);
  return std ? `std ${std}` : undefined;
}

function provenanceProblem(p: unknown): string | undefined {
  if (!isObject(p)) return 'must be an object';
  const nullableString = (key: string) => p[key] === null || typeof p[key] === 'string';
  if (!nullableString('method')) return 'method must be a string or null';
  if (!nullableString('dataset')) return 'dataset must be a string or null';
  if (!unit(p['sparsity'])) return 'sparsity must be a number in [0, 1]';
  if (!(p['testAccuracy'] === null || unit(p['testAccuracy'])))
    return 'testAccuracy must be a number in [0, 1] or null';
  if (typeof p['dynapruneVersion'] !== 'string') return 'dynapruneVersion must be a string';
  return undefined;
}

/**
 * Checks the specified members of `metadata` against the graph's input and output shapes; returns a
 * sentence naming the first problem, or undefined. Absent members are fine (older files have none).
 */
export function metadataProblem(
  metadata: Readonly<Record<string, unknown>>,
  inputShape: readonly number[],
  outputShape: readonly number[],
): string | undefined {
  if ('input' in metadata) {
    const problem = inputProblem(metadata['input'], inputShape);
    if (problem) return `metadata.input: ${problem}`;
  }
  if ('labels' in metadata) {
    const labels = metadata['labels'];
    const classes = outputShape[outputShape.length - 1]!;
    if (
      !Array.isArray(labels) ||
      labels.length !== classes ||
      !labels.every((l) => typeof l === 'string')
    )
      return `metadata.labels: must be ${classes} strings, one per output unit`;
  }
  if ('provenance' in metadata) {
    const problem = provenanceProblem(metadata['provenance']);
    if (problem) return `metadata.provenance: ${problem}`;
  }
  return undefined;
}

/**
 * The model input for one raw example: `raw` holds `shape`'s elements in layout order (for images, RGBA
 * bytes from a canvas are accepted too when the model takes 3 channels: alpha is dropped).
 */
export function prepareInput(spec: InputSpec, raw: ArrayLike<number>): Float32Array | undefined {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const channels = spec.shape[spec.shape.length - 1]!;
  const rgba = spec.layout === 'hwc' && channels === 3 && raw.length === (size / 3) * 4;
  if (raw.length !== size && !rgba) return undefined;
  const stride = rgba ? 4 : channels;
  const out = new Float32Array(size);
  for (let p = 0; p < size / channels; p++) {
    for (let c = 0; c < channels; c++) {
      let x = raw[p * stride + c]! / spec.divisor;
      if (spec.mean) x -= spec.mean[c]!;
      if (spec.std) x /= spec.std[c]!;
      out[p * channels + c] = x;
    }
  }
  return out;
}
