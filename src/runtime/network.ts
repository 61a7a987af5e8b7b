// A loaded model ready to predict: the API, and the choice of engine (WebAssembly plan or reference ops).
import { InvalidArgumentError, MemoryLimitError, ShapeMismatchError } from '../errors.js';
import { foldBatchNorms, fuseRelus } from '../graph/rewrites.js';
import { shapeSize, validateGraph, type Shape } from '../graph/shapes.js';
import type { ModelGraph } from '../graph/types.js';
import type { ModelMetadata } from '../format/index.js';
import { Arena, DEFAULT_MAX_MEMORY_BYTES } from './arena.js';
import { classifyExample, type Classification } from './classify.js';
import { instantiateKernels, simdSupported } from './kernels.js';
import { Plan } from './plan.js';
import { planners } from './planners.js';
import { runReference } from './reference.js';
import type { PrunedLayer, PruneScope, SparsityTarget } from '../graph/prune.js';
import { NetworkSparsity, type SetSparsityOptions } from './sparsity.js';

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
  /** Prune further by magnitude right after loading: see {@link Network.setSparsity}. */
  readonly sparsity?: SparsityTarget;
  /** How `sparsity` spreads over the layers (default `layer`, uniform). */
  readonly pruneScope?: PruneScope;
}

/** Runs a batch; with `profile`, also adds each node's milliseconds to it. */
type Runner = (input: Float32Array, batch: number, profile?: Map<string, number>) => Float32Array;

/** Plans a graph with the same shapes as the loaded one (new weights) on the network's engine. */
type Replanner = (graph: ModelGraph) => Runner;

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
  readonly engine: RuntimeEngine;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private runner: Runner;
  private readonly sparsity: NetworkSparsity;

  constructor(
    stored: ModelGraph,
    graph: ModelGraph,
    engine: RuntimeEngine,
    shapes: ReadonlyMap<string, Shape>,
    private readonly replan: Replanner,
  ) {
    this.sparsity = new NetworkSparsity(stored, graph);
    this.engine = engine;
    this.inputShape = shapes.get(graph.nodes[0]!.name)!;
    this.outputShape = shapes.get(graph.output)!;
    this.runner = replan(graph);
  }

  /** The graph being run: BatchNorm folded, ReLU fused, weights at the current sparsity. */
  get graph(): ModelGraph {
    return this.sparsity.current;
  }

  /** Each conv2d/dense layer's size, stored nnz and the nnz it runs with now. */
  get layerSparsity(): PrunedLayer[] {
    return this.sparsity.layers;
  }

  /**
   * Prunes further by magnitude from the stored weights: one sparsity for every layer (each keeps exactly
   * round((1 − s) · size) of its largest weights, or all it stores if fewer), sparsities by layer name, or one
   * global threshold with `{ scope: 'global' }`. Reversible: any lower target, down to 0 (the stored weights),
   * restores exactly the stored weights. Only the layers whose nnz changes get new compressed weights; the
   * plan is then rebuilt over the same memory. Returns the layers at the new point.
   */
  setSparsity(target: SparsityTarget, options: SetSparsityOptions = {}): PrunedLayer[] {
    const { layers, graph } = this.sparsity.apply(target, options);
    if (graph) this.runner = this.replan(graph);
    return layers;
  }

  /**
   * The container's metadata: `input` (how to feed the model), `labels`, `provenance` (FORMAT.md,
   * "Metadata"), and any free members. Empty for files written before the block existed.
   */
  get metadata(): ModelMetadata {
    return this.graph.metadata;
  }

  /**
   * Classifies one raw example as `metadata.input` describes it (an image's HWC bytes, or RGBA bytes from
   * a canvas): every class with its label and probability, most likely first.
   */
  classify(raw: ArrayLike<number>): Classification[] {
    return classifyExample(this, raw);
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

/**
 * The WebAssembly engine: one memory and one kernel instance for the network's life; each call of the
 * returned function plans a graph (the loaded one, then each new sparsity) over that memory, zeroed first.
 */
async function wasmPlanner(
  shapes: ReadonlyMap<string, Shape>,
  options: NetworkOptions,
  limit: number,
): Promise<Replanner> {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const kernels = await instantiateKernels(memory);
  let used = false;
  return (graph) => {
    // Planners may count on fresh, zeroed memory (padding borders, for one); a re-plan gets the same.
    if (used) new Uint8Array(memory.buffer).fill(0);
    used = true;
    const arena = new Arena(memory, limit);
    const plan = new Plan(graph, shapes, planners, kernels, arena, options.denseThreshold ?? 0.35);
    return (input, batch, profile) => plan.run(input, batch, profile);
  };
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
    withSparsity(
      new Network(graph, prepared, 'reference', preparedShapes, (g) =>
        referenceRunner(g, preparedShapes, limit),
      ),
      options,
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
    const replan = await wasmPlanner(preparedShapes, options, limit);
    return withSparsity(new Network(graph, prepared, 'wasm-simd', preparedShapes, replan), options);
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

/** Applies the load-time sparsity, if any. */
function withSparsity(net: Network, options: NetworkOptions): Network {
  if (options.sparsity !== undefined)
    net.setSparsity(options.sparsity, options.pruneScope ? { scope: options.pruneScope } : {});
  return net;
}
