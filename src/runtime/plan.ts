// The execution plan: one planner per op (planners.ts) turns each node into a step holding its buffers.
import { nodeInputs, shapeSize, type Shape } from '../graph/shapes.js';
import type { GraphNode, ModelGraph, NodeOf, OpName } from '../graph/types.js';
import { roundUp, STORE_SLACK_FLOATS, type Arena } from './arena.js';
import type { RuntimeKernels } from './kernels.js';

/** One image's activation, channels-first [C, H, W] (planes of H·W floats), at a fixed byte offset. */
export interface ImageBuffer {
  readonly at: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly plane: number;
  readonly size: number;
}

/**
 * A batch of feature vectors, feature-major: row r holds feature r of every image side by side, `lanes.stride`
 * floats apart. Its offset moves when a larger batch needs more lanes.
 */
export interface FeatureBuffer {
  at: number;
  readonly rows: number;
}

/** The feature rows' stride in floats: the batch capacity, a multiple of 16. */
export interface Lanes {
  stride: number;
}

/** A scratch area shared by every step (im2col columns); its offset is set when planning ends. */
export interface Scratch {
  at: number;
  floats: number;
}

/**
 * One planned operation. `image` steps run once per image on image buffers (`image` is the image's index,
 * its lane in feature buffers); `batch` steps run once per call on feature buffers, for `batch` lanes.
 */
export interface Step {
  readonly node: string;
  readonly stage: 'image' | 'batch';
  run(image: number, batch: number): void;
}

/** What a planner works with: kernels, memory, and the buffers of the nodes planned so far. */
export interface PlanContext {
  readonly kernels: RuntimeKernels;
  readonly arena: Arena;
  readonly denseThreshold: number;
  readonly lanes: Lanes;
  readonly scratch: Scratch;
  shape(name: string): Shape;
  /** The node named `name`; the nodes that read its output; whether it is the graph's output. */
  node(name: string): GraphNode;
  readers(name: string): readonly GraphNode[];
  isOutput(name: string): boolean;
  /** Whether `name`'s output is computed by a step planned before the current node's. */
  planned(name: string): boolean;
  /**
   * The step being planned computes the later node `name` too, in place: `name` shares `by`'s output buffer
   * and gets no step of its own.
   */
  fuse(name: string, by: string): void;
  /** The step being planned computes the later node `name` too: its buffer, allocated now; no step of its own. */
  claim(name: string): ImageBuffer;
  image(name: string): ImageBuffer;
  features(name: string): FeatureBuffer;
}

/** Plans one node whose output buffer exists already; undefined when the node needs no step (the input). */
export type Planner<K extends OpName> = (node: NodeOf<K>, ctx: PlanContext) => Step | undefined;

export type PlannerTable = { readonly [K in OpName]: Planner<K> };

const isImage = (shape: Shape): boolean => shape.length === 3;

/** A planned network: runs a batch through its steps, in place in the arena. */
export class Plan {
  private readonly imageSteps: Step[] = [];
  private readonly batchSteps: Step[] = [];
  private readonly images = new Map<string, ImageBuffer>();
  private readonly featureBuffers = new Map<string, FeatureBuffer>();
  private readonly lanes: Lanes = { stride: 0 };
  private readonly scratch: Scratch = { at: 0, floats: 16 };
  private readonly fixedTop: number;
  private readonly input: GraphNode;
  private readonly outputName: string;

  constructor(
    graph: ModelGraph,
    private readonly shapes: ReadonlyMap<string, Shape>,
    planners: PlannerTable,
    kernels: RuntimeKernels,
    private readonly arena: Arena,
    denseThreshold: number,
  ) {
    const byName = new Map(graph.nodes.map((n) => [n.name, n]));
    const readers = new Map<string, GraphNode[]>();
    for (const node of graph.nodes)
      for (const input of nodeInputs(node))
        readers.set(input, [...(readers.get(input) ?? []), node]);
    // Later nodes that a step planned earlier computes.
    const computed = new Set<string>();
    const ctx: PlanContext = {
      kernels,
      arena,
      denseThreshold,
      lanes: this.lanes,
      scratch: this.scratch,
      shape: (name) => shapes.get(name)!,
      node: (name) => byName.get(name)!,
      readers: (name) => readers.get(name) ?? [],
      isOutput: (name) => name === graph.output,
      planned: (name) => this.images.has(name) || this.featureBuffers.has(name),
      fuse: (name, by) => {
        this.images.set(name, this.images.get(by)!);
        computed.add(name);
      },
      claim: (name) => {
        this.allocateOutput(name);
        computed.add(name);
        return this.images.get(name)!;
      },
      image: (name) => this.images.get(name)!,
      features: (name) => this.featureBuffers.get(name)!,
    };
    for (const node of graph.nodes) {
      if (computed.has(node.name)) continue;
      this.allocateOutput(node.name);
      const step = (planners[node.op] as Planner<OpName>)(node as never, ctx);
      if (step) (step.stage === 'image' ? this.imageSteps : this.batchSteps).push(step);
    }
    this.scratch.at = arena.alloc(
      (this.scratch.floats + STORE_SLACK_FLOATS) * 4,
      'the im2col scratch',
    );
    this.fixedTop = arena.top;
    this.input = graph.nodes[0]!;
    this.outputName = graph.output;
    this.ensureLanes(1);
  }

  /** Image outputs get their buffer now; feature outputs when the batch capacity is known. */
  private allocateOutput(name: string): void {
    const shape = this.shapes.get(name)!;
    if (!isImage(shape)) {
      this.featureBuffers.set(name, { at: 0, rows: shape[0]! });
      return;
    }
    const [h, w, c] = shape as [number, number, number];
    const at = this.arena.alloc((h * w * c + STORE_SLACK_FLOATS) * 4, `node "${name}"`);
    this.images.set(name, { at, c, h, w, plane: h * w, size: h * w * c });
  }

  /** (Re)places the feature buffers above the fixed part of the arena for at least `batch` lanes. */
  private ensureLanes(batch: number): void {
    if (batch <= this.lanes.stride) return;
    const stride = roundUp(batch, 16);
    let top = this.fixedTop;
    for (const buffer of this.featureBuffers.values())
      top = roundUp(top, 64) + roundUp(buffer.rows * stride * 4, 64);
    this.arena.ensure(top, `feature buffers for a batch of ${batch}`);
    this.arena.top = this.fixedTop;
    for (const buffer of this.featureBuffers.values())
      buffer.at = this.arena.alloc(buffer.rows * stride * 4, 'feature buffers');
    this.lanes.stride = stride;
  }

  /** Runs `batch` examples (NHWC images or feature vectors, batch first); adds per-node ms to `profile`. */
  run(input: Float32Array, batch: number, profile?: Map<string, number>): Float32Array {
    this.ensureLanes(batch);
    const outputShape = this.shapes.get(this.outputName)!;
    const result = new Float32Array(batch * shapeSize(outputShape));
    const inputImage = this.images.get(this.input.name);
    if (inputImage) {
      const output = this.images.get(this.outputName);
      for (let b = 0; b < batch; b++) {
        readImage(this.arena.f32(), inputImage, input, b);
        runSteps(this.imageSteps, b, batch, profile);
        if (output) writeImage(this.arena.f32(), output, result, b);
      }
    } else {
      readFeatures(
        this.arena.f32(),
        this.featureBuffers.get(this.input.name)!,
        this.lanes.stride,
        input,
        batch,
      );
    }
    runSteps(this.batchSteps, 0, batch, profile);
    const features = this.featureBuffers.get(this.outputName);
    if (features) writeFeatures(this.arena.f32(), features, this.lanes.stride, result, batch);
    return result;
  }
}

function runSteps(
  steps: readonly Step[],
  image: number,
  batch: number,
  profile?: Map<string, number>,
): void {
  if (!profile) {
    for (const step of steps) step.run(image, batch);
    return;
  }
  for (const step of steps) {
    const t0 = performance.now();
    step.run(image, batch);
    profile.set(step.node, (profile.get(step.node) ?? 0) + performance.now() - t0);
  }
}

/** Image `b` of an NHWC batch into a CHW buffer. */
function readImage(f: Float32Array, to: ImageBuffer, input: Float32Array, b: number): void {
  const { c, plane, size } = to;
  const base = to.at / 4;
  const src = b * size;
  for (let p = 0; p < plane; p++)
    for (let ch = 0; ch < c; ch++) f[base + ch * plane + p] = input[src + p * c + ch]!;
}

/** A CHW buffer into image `b` of an NHWC batch. */
function writeImage(f: Float32Array, from: ImageBuffer, result: Float32Array, b: number): void {
  const { c, plane, size } = from;
  const at = from.at / 4;
  for (let p = 0; p < plane; p++)
    for (let ch = 0; ch < c; ch++) result[b * size + p * c + ch] = f[at + ch * plane + p]!;
}

function readFeatures(
  f: Float32Array,
  to: FeatureBuffer,
  stride: number,
  input: Float32Array,
  batch: number,
): void {
  const at = to.at / 4;
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < to.rows; r++) f[at + r * stride + b] = input[b * to.rows + r]!;
}

function writeFeatures(
  f: Float32Array,
  from: FeatureBuffer,
  stride: number,
  result: Float32Array,
  batch: number,
): void {
  const at = from.at / 4;
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < from.rows; r++) result[b * from.rows + r] = f[at + r * stride + b]!;
}
