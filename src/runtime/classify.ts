// classify(): one raw example (bytes, as the container's metadata.input describes) to labelled probabilities.
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { metadataProblem, prepareInput, type ModelMetadata } from '../format/index.js';
import type { ModelGraph } from '../graph/types.js';

/** One class of a classification: its name (or index as text without labels), index and probability. */
export interface Classification {
  readonly label: string;
  readonly index: number;
  readonly probability: number;
}

/** What classify needs of a network. */
interface Classifier {
  readonly graph: ModelGraph;
  readonly metadata: ModelMetadata;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  predict(input: Float32Array, batch?: number): Float32Array;
}

/** True when the graph's output already is a softmax (a softmax node, or a layer with that activation). */
function endsInSoftmax(graph: ModelGraph): boolean {
  const out = graph.nodes.find((n) => n.name === graph.output);
  return (
    out?.op === 'softmax' ||
    ((out?.op === 'dense' || out?.op === 'conv2d') && out.activation === 'softmax')
  );
}

function softmax(logits: Float32Array): Float32Array {
  const max = Math.max(...logits);
  const exp = logits.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, v) => a + v, 0);
  return exp.map((v) => v / sum);
}

/** Scales `raw`, runs one prediction and labels each class's probability, most likely first. */
export function classifyExample(net: Classifier, raw: ArrayLike<number>): Classification[] {
  const spec = net.metadata.input;
  if (spec === undefined) {
    throw new InvalidArgumentError(
      'This model has no metadata.input block, so classify() cannot know how to scale its input. ' +
        'Re-export it with `dynaprune export` (which writes the block), or scale the input and call predict().',
    );
  }
  const problem = metadataProblem(net.metadata, net.inputShape, net.outputShape);
  if (problem) throw new InvalidArgumentError(`Cannot classify: ${problem}.`);
  if (net.outputShape.length !== 1)
    throw new InvalidArgumentError(
      'classify() needs a model whose output is one vector of classes.',
    );
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (!(Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw new InvalidArgumentError(
        `classify() takes raw bytes 0 to 255 (metadata.input.dtype is uint8); value ${i} is ${b}. ` +
          'For inputs you have already scaled, call predict().',
      );
    }
  }
  const x = prepareInput(spec, raw);
  if (x === undefined) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    throw new ShapeMismatchError(
      `classify() expects ${size} bytes ([${spec.shape.join(', ')}], ${spec.layout})` +
        `${spec.layout === 'hwc' && spec.shape[2] === 3 ? ` or ${(size / 3) * 4} RGBA bytes` : ''}, got ${raw.length}.`,
    );
  }
  const output = net.predict(x, 1);
  const probabilities = endsInSoftmax(net.graph) ? output : softmax(output);
  return Array.from(probabilities, (probability, index) => ({
    label: net.metadata.labels?.[index] ?? String(index),
    index,
    probability,
  })).sort((a, b) => b.probability - a.probability || a.index - b.index);
}
