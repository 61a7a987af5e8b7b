// Shape inference and validation of a ModelGraph, one rule per op; a graph is checked once and remembered.
import { checkMatrix, checkVector, type ErrorFactory } from './matrix.js';
import type { GraphNode, ModelGraph, NodeOf, OpName, Padding } from './types.js';

export type { ErrorFactory, GraphProblem } from './matrix.js';

/** A node's output shape without the batch axis: [h, w, c] for images, [features] after flatten. */
export type Shape = readonly number[];

/** Per-example activation size limit (2^26 floats, 256 MiB): stops absurd shapes from bad files. */
export const MAX_ACTIVATION_ELEMENTS = 2 ** 26;

const ACTIVATIONS = new Set(['linear', 'relu', 'softmax']);

/** Output size of a window of `k` sliding by `s` over `n` (tfjs/Keras rules). */
export function windowOutput(n: number, k: number, s: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/** tfjs's 'same' padding before the data (the extra row, if any, goes after). */
export function samePadBefore(n: number, k: number, s: number): number {
  const out = Math.ceil(n / s);
  return Math.floor(Math.max((out - 1) * s + k - n, 0) / 2);
}

/** The product of a shape's dimensions. */
export const shapeSize = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

const isPositiveInt = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v > 0;
const isPair = (v: unknown): v is readonly [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every(isPositiveInt);

/** What a shape rule gets besides its node: the input shapes, by position, and how to fail. */
interface RuleContext {
  /** The shape of the node's `index`-th input (throws a structure error if it is not an earlier node). */
  readonly input: (index?: number) => Shape;
  readonly where: string;
  readonly fail: ErrorFactory;
}

type ShapeRule<K extends OpName> = (node: NodeOf<K>, ctx: RuleContext) => Shape;

function imageInput(ctx: RuleContext): readonly [number, number, number] {
  const x = ctx.input();
  if (x.length !== 3)
    throw ctx.fail(`${ctx.where}: expects an [h, w, c] input, got [${x.join(', ')}]`, 'shape');
  return x as readonly [number, number, number];
}

function checkActivation(node: { activation: unknown }, ctx: RuleContext): void {
  if (!ACTIVATIONS.has(node.activation as string))
    throw ctx.fail(`${ctx.where}: unknown activation "${String(node.activation)}"`, 'structure');
}

function checkPadding(padding: unknown, ctx: RuleContext): void {
  if (padding !== 'same' && padding !== 'valid')
    throw ctx.fail(`${ctx.where}: padding must be same or valid`, 'structure');
}

const conv2dShape: ShapeRule<'conv2d'> = (node, ctx) => {
  const { where, fail } = ctx;
  const x = ctx.input();
  if (
    !isPair(node.kernelSize) ||
    !isPair(node.strides) ||
    !isPositiveInt(node.inChannels) ||
    !isPositiveInt(node.outChannels)
  ) {
    throw fail(
      `${where}: kernelSize, strides, inChannels and outChannels must be positive integers`,
      'structure',
    );
  }
  checkPadding(node.padding, ctx);
  checkActivation(node, ctx);
  if (x.length !== 3 || x[2] !== node.inChannels) {
    throw fail(
      `${where}: expects an [h, w, ${node.inChannels}] input, got [${x.join(', ')}]`,
      'shape',
    );
  }
  const [kh, kw] = node.kernelSize;
  checkMatrix(node.weight, node.outChannels, node.inChannels * kh * kw, `${where} weight`, fail);
  if (node.bias !== null) checkVector(node.bias, node.outChannels, `${where} bias`, fail);
  const oh = windowOutput(x[0]!, kh, node.strides[0], node.padding);
  const ow = windowOutput(x[1]!, kw, node.strides[1], node.padding);
  if (oh < 1 || ow < 1)
    throw fail(`${where}: a ${kh}x${kw} kernel does not fit a ${x[0]}x${x[1]} input`, 'shape');
  return [oh, ow, node.outChannels];
};

const denseShape: ShapeRule<'dense'> = (node, ctx) => {
  const { where, fail } = ctx;
  const x = ctx.input();
  if (!isPositiveInt(node.inFeatures) || !isPositiveInt(node.outFeatures))
    throw fail(`${where}: inFeatures and outFeatures must be positive integers`, 'structure');
  checkActivation(node, ctx);
  if (x.length !== 1 || x[0] !== node.inFeatures)
    throw fail(`${where}: expects [${node.inFeatures}] features, got [${x.join(', ')}]`, 'shape');
  checkMatrix(node.weight, node.outFeatures, node.inFeatures, `${where} weight`, fail);
  if (node.bias !== null) checkVector(node.bias, node.outFeatures, `${where} bias`, fail);
  return [node.outFeatures];
};

const poolShape: ShapeRule<'maxPool' | 'avgPool'> = (node, ctx) => {
  const x = ctx.input();
  if (!isPair(node.poolSize) || !isPair(node.strides))
    throw ctx.fail(`${ctx.where}: poolSize and strides must be positive integers`, 'structure');
  checkPadding(node.padding, ctx);
  const [h, w, c] = imageInput(ctx);
  const oh = windowOutput(h, node.poolSize[0], node.strides[0], node.padding);
  const ow = windowOutput(w, node.poolSize[1], node.strides[1], node.padding);
  if (oh < 1 || ow < 1)
    throw ctx.fail(`${ctx.where}: the pool window does not fit a ${x[0]}x${x[1]} input`, 'shape');
  return [oh, ow, c];
};

/** One shape rule per op: checks the node's own fields and returns its output shape. */
const shapeRules: { readonly [K in OpName]: ShapeRule<K> } = {
  input: (node, { where, fail }) => {
    if (
      !Array.isArray(node.shape) ||
      ![1, 3].includes(node.shape.length) ||
      !node.shape.every(isPositiveInt)
    ) {
      throw fail(
        `${where}: input shape must be [h, w, c] or [features] of positive integers`,
        'structure',
      );
    }
    return [...node.shape];
  },
  conv2d: conv2dShape,
  dense: denseShape,
  batchNorm: (node, ctx) => {
    const x = ctx.input();
    const c = x[x.length - 1]!;
    for (const key of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const)
      checkVector(node[key], c, `${ctx.where} ${key}`, ctx.fail);
    if (typeof node.epsilon !== 'number' || !(node.epsilon >= 0) || node.epsilon === Infinity)
      throw ctx.fail(`${ctx.where}: epsilon must be a finite number >= 0`, 'structure');
    // gamma / sqrt(variance + epsilon) must be finite: a negative sum would give NaN outputs.
    if (node.movingVariance.some((v) => !(v + node.epsilon > 0)))
      throw ctx.fail(
        `${ctx.where}: movingVariance + epsilon must be > 0 in every channel`,
        'structure',
      );
    return x;
  },
  maxPool: poolShape,
  avgPool: poolShape,
  globalAvgPool: (_node, ctx) => [imageInput(ctx)[2]],
  flatten: (_node, ctx) => [shapeSize(ctx.input())],
  relu: (_node, ctx) => ctx.input(),
  softmax: (_node, ctx) => ctx.input(),
  add: (node, ctx) => {
    if (!Array.isArray(node.inputs) || node.inputs.length !== 2)
      throw ctx.fail(`${ctx.where}: add takes two inputs`, 'structure');
    const a = ctx.input(0);
    const b = ctx.input(1);
    if (a.join('x') !== b.join('x'))
      throw ctx.fail(`${ctx.where}: adds [${a.join(', ')}] and [${b.join(', ')}]`, 'shape');
    return a;
  },
};

/** The names of the nodes a node reads, in order. */
export function nodeInputs(node: GraphNode): readonly string[] {
  return node.op === 'input' ? [] : node.op === 'add' ? node.inputs : [node.input];
}

/**
 * Graphs already validated, with their shapes. Graphs are immutable data, so a graph checked once (by the
 * decoder, say) is not checked again by the runtime; rewrites register their results here too.
 */
const validated = new WeakMap<ModelGraph, ReadonlyMap<string, Shape>>();

/** Records the shapes of a graph derived from a validated one by a shape-preserving rewrite. */
export function rememberShapes(graph: ModelGraph, shapes: ReadonlyMap<string, Shape>): void {
  validated.set(graph, shapes);
}

/** The shapes of `graph` if it has been validated, else undefined. */
export function knownShapes(graph: ModelGraph): ReadonlyMap<string, Shape> | undefined {
  return validated.get(graph);
}

function checkNode(node: GraphNode, index: number, fail: ErrorFactory): string {
  const where = `node ${index} ("${String(node?.name)}")`;
  if (
    node === null ||
    typeof node !== 'object' ||
    typeof node.name !== 'string' ||
    node.name === ''
  )
    throw fail(`node ${index}: needs a non-empty name`, 'structure');
  if (!Object.hasOwn(shapeRules, node.op as string))
    throw fail(`${where}: unknown op "${String(node.op)}"`, 'structure');
  if ((node.op === 'input') !== (index === 0))
    throw fail(`${where}: the first node, and only it, must be the input`, 'structure');
  return where;
}

/**
 * Validates `graph` and returns each node's output shape (batch axis excluded), by name. Throws the
 * factory's error with a message naming the node. Linear in the graph's size; a graph validated before
 * is not walked again.
 */
export function validateGraph(graph: ModelGraph, fail: ErrorFactory): ReadonlyMap<string, Shape> {
  const known = validated.get(graph);
  if (known) return known;
  const shapes = new Map<string, Shape>();
  if (!Array.isArray(graph.nodes) || graph.nodes.length === 0)
    throw fail('the graph has no nodes', 'structure');
  graph.nodes.forEach((node: GraphNode, index) => {
    const where = checkNode(node, index, fail);
    if (shapes.has(node.name)) throw fail(`${where}: duplicate name`, 'structure');
    const input = (i = 0): Shape => {
      const name: unknown =
        node.op === 'add' ? node.inputs?.[i] : (node as { input?: unknown }).input;
      const s = typeof name === 'string' ? shapes.get(name) : undefined;
      if (s === undefined)
        throw fail(`${where}: input "${String(name)}" is not an earlier node`, 'structure');
      return s;
    };
    const rule = shapeRules[node.op] as ShapeRule<OpName>;
    const out = rule(node as never, { input, where, fail });
    if (shapeSize(out) > MAX_ACTIVATION_ELEMENTS) {
      throw fail(
        `${where}: an output of [${out.join(', ')}] per example is larger than any model this reads`,
        'shape',
      );
    }
    shapes.set(node.name, out);
  });
  if (!shapes.has(graph.output))
    throw fail(`the output "${String(graph.output)}" is not a node`, 'structure');
  validated.set(graph, shapes);
  return shapes;
}
