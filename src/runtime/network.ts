// A loaded model ready to predict: the API, and the choice of engine (WebAssembly plan or reference ops).
import { InvalidArgumentError, MemoryLimitError, ShapeMismatchError } from '../errors.js';
import { foldBatchNorms, fuseRelus } from '../graph/rewrites.js';
import { shapeSize, validateGraph, type Shape } from '../graph/shapes.js';
import type { ModelGraph } from '../graph/types.js';
import { Arena, DEFAULT_MAX_MEMORY_BYTES } from './arena.js';
import { instantiateKernels, simdSupported } from './kernels.js';
import { Plan } from './plan.js';
import { planners } from './planners.js';
import { runReference } from './reference.js';

/** What runs the model. */
export type RuntimeEngine = 'wasm-simd' | 'reference';

export interface NetworkOptions {
  /** `auto` (default): WebAssembly SIMD when the engine has it, else the reference ops with a warning. */
  readonly engine?: 'auto' | RuntimeEngine;
  /** Receives one sentence when the runtime falls back to the slower reference ops. */
  readonly onWarning?: (message: string) => void;
  /** Fold BatchNorm into the conv or dense layer before it where possible (default true). */
  readonly foldBatchNorm?: boolean;
  /**
   * Weights with at least this density run on the dense kernel instead of the sparse one (default 0.35,
   * where the two measured about even).
   */
  readonly denseThreshold?: number;
  /**
   * The most memory the network may use, in bytes: weights, activations and scratch of the WebAssembly
   * engine, or one call's activations on the reference engine (default 1 GiB). Beyond it, loading or
   * predicting throws MemoryLimitError instead of allocating.
   */
  readonly maxMemoryBytes?: number;
}

/** Runs a batch; with `profile`, also adds each node's milliseconds to it. */
type Runner = (input: Float32Array, batch: number, profile?: Map<string, number>) => Float32Array;

/** Where a prediction's time went: per node of the planned graph (after folding and fusion). */
export interface Profile {
  readonly totalMs: number;
  readonly nodes: readonly { readonly name: string; readonly op: string; readonly ms: number }[];
}

/**
 * A model loaded for inference. `predict` takes a batch in the graph's layout (NHWC images or
 * [batch, features]) as one Float32Array and returns the output node's values, batch first.
 */
export class Network {
  readonly graph: ModelGraph;
  readonly engine: RuntimeEngine;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private readonly runner: Runner;

  constructor(
    graph: ModelGraph,
    engine: RuntimeEngine,
    shapes: ReadonlyMap<string, Shape>,
    runner: Runner,
  ) {
    this.graph = graph;
    this.engine = engine;
    this.inputShape = shapes.get(graph.nodes[0]!.name)!;
    this.outputShape = shapes.get(graph.output)!;
    this.runner = runner;
  }

  /** Runs `batch` examples; `input.length` must be batch × the input size. */
  predict(input: Float32Array, batch = 1): Float32Array {
    this.check(input, batch);
    return this.runner(input, batch);
  }

  /**
   * Runs `batch` examples like `predict` and reports the milliseconds spent in each node of the planned
   * graph (BatchNorm folded, ReLU fused: `graph` shows it). The reference engine reports the total only.
   */
  profile(input: Float32Array, batch = 1): Profile {
    this.check(input, batch);
    const times = new Map<string, number>();
    const started = performance.now();
    this.runner(input, batch, times);
    const totalMs = performance.now() - started;
    const nodes = this.graph.nodes
      .filter((n) => times.has(n.name))
      .map((n) => ({ name: n.name, op: n.op, ms: times.get(n.name)! }));
    return { totalMs, nodes };
  }

  private check(input: Float32Array, batch: number): void {
    if (!Number.isInteger(batch) || batch < 1)
      throw new InvalidArgumentError(`batch must be a positive integer, got ${batch}.`);
    const per = shapeSize(this.inputShape);
    if (!(input instanceof Float32Array) || input.length !== batch * per) {
      throw new ShapeMismatchError(
        `predict expects ${batch} × [${this.inputShape.join(', ')}] = ${batch * per} floats, got ${input?.length ?? 'no array'}.`,
      );
    }
  }
}

/** Bytes of every node's activation for one example: what any engine holds at least. */
function activationBytes(shapes: ReadonlyMap<string, Shape>): number {
  let floats = 0;
  for (const shape of shapes.values()) floats += shapeSize(shape);
  return floats * 4;
}

function memoryLimitError(needed: number, limit: number, what: string): MemoryLimitError {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return new MemoryLimitError(
    `The network's activations need ${mib(needed)} ${what}, above the limit of ${mib(limit)}. ` +
      'If the model is genuine, raise it with { maxMemoryBytes }; otherwise the file declares shapes ' +
      'larger than any real model.',
    needed,
    limit,
  );
}

function referenceRunner(
  graph: ModelGraph,
  shapes: ReadonlyMap<string, Shape>,
  limit: number,
): Runner {
  const inputShape = shapes.get(graph.nodes[0]!.name)!;
  const perExample = activationBytes(shapes);
  return (input, batch) => {
    if (perExample * batch > limit)
      throw memoryLimitError(perExample * batch, limit, `for a batch of ${batch}`);
    return runReference(graph, { data: input, batch, shape: inputShape }).data;
  };
}

/** Plans the graph on the WebAssembly kernels, in a memory of its own. */
async function wasmPlan(
  graph: ModelGraph,
  shapes: ReadonlyMap<string, Shape>,
  options: NetworkOptions,
  limit: number,
): Promise<Runner> {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const kernels = await instantiateKernels(memory);
  const arena = new Arena(memory, limit);
  const plan = new Plan(graph, shapes, planners, kernels, arena, options.denseThreshold ?? 0.35);
  return (input, batch, profile) => plan.run(input, batch, profile);
}

/**
 * Prepares `graph` for inference: validates it (typed errors on an inconsistent graph; a graph the decoder
 * checked is not checked again), folds BatchNorm, and plans it on the WebAssembly SIMD kernels, or on the
 * reference ops where SIMD is missing (with a warning through `onWarning`).
 */
export async function createNetwork(
  graph: ModelGraph,
  options: NetworkOptions = {},
): Promise<Network> {
  const shapes = validateGraph(graph, (message, problem) =>
    problem === 'shape' ? new ShapeMismatchError(message) : new InvalidArgumentError(message),
  );
  const limit = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const needed = activationBytes(shapes);
  if (needed > limit) throw memoryLimitError(needed, limit, 'per example');
  const prepared = fuseRelus(options.foldBatchNorm === false ? graph : foldBatchNorms(graph));
  // The rewrites keep every remaining node's shape: validated once, carried over.
  const preparedShapes = validateGraph(prepared, (message) => new InvalidArgumentError(message));
  const reference = () =>
    new Network(
      prepared,
      'reference',
      preparedShapes,
      referenceRunner(prepared, preparedShapes, limit),
    );
  const wanted = options.engine ?? 'auto';
  if (wanted === 'reference') return reference();
  if (!simdSupported()) {
    if (wanted === 'wasm-simd')
      throw new InvalidArgumentError(
        'WebAssembly SIMD is not available in this JavaScript engine.',
      );
    options.onWarning?.(
      'WebAssembly SIMD is not available here; running the (much slower) reference ops.',
    );
    return reference();
  }
  try {
    const runner = await wasmPlan(prepared, preparedShapes, options, limit);
    return new Network(prepared, 'wasm-simd', preparedShapes, runner);
  } catch (error) {
    if (
      wanted === 'wasm-simd' ||
      error instanceof InvalidArgumentError ||
      error instanceof MemoryLimitError
    )
      throw error;
    options.onWarning?.(
      `The WebAssembly kernels failed (${String(error)}); running the reference ops.`,
    );
    return reference();
  }
}
