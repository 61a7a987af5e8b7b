// The model graph that the CSR container stores and the runtime executes: plain data, no tfjs.
//
// Conventions (the container, the runtime and the tfjs converter all rely on them):
// - Activations are NHWC for images and [batch, features] after flatten; the batch axis is implicit.
// - Every conv2d and dense weight is a logical matrix [outUnits, fanIn]:
//   - dense: fanIn = inFeatures, so W[o][i] is tfjs kernel[i][o];
//   - conv2d: fanIn = inChannels * kh * kw, column = (ci * kh + y) * kw + x, so W[o][col] is
//     tfjs kernel[y][x][ci][o] (the PyTorch [out, in, kh, kw] order, which scipy users expect).
// - Nodes are stored in topological order; each names its inputs by node name.

/** An activation fused into a conv2d or dense node. */
export type Activation = 'linear' | 'relu' | 'softmax';

/** tfjs/Keras padding modes. 'same' pads so that out = ceil(in / stride), the extra row at the bottom/right. */
export type Padding = 'same' | 'valid';

/** A weight matrix stored densely, row-major [rows, cols]. */
export interface DenseMatrix {
  readonly kind: 'dense';
  readonly rows: number;
  readonly cols: number;
  /** rows * cols values, row-major. */
  readonly values: Float32Array;
}

/**
 * A weight matrix in textbook CSR: rowPtr has rows + 1 entries starting at 0, column indices are
 * strictly increasing within a row, and values[k] belongs to colIdx[k].
 */
export interface CsrMatrix {
  readonly kind: 'csr';
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: Uint32Array;
  readonly colIdx: Uint32Array;
  readonly values: Float32Array;
}

/** A conv2d or dense weight, sparse or dense. */
export type WeightMatrix = DenseMatrix | CsrMatrix;

interface NodeBase {
  /** Unique within the graph. */
  readonly name: string;
}

/** The graph's single input; `shape` excludes the batch axis ([h, w, c] or [features]). */
export interface InputNode extends NodeBase {
  readonly op: 'input';
  readonly shape: readonly number[];
}

export interface Conv2dNode extends NodeBase {
  readonly op: 'conv2d';
  readonly input: string;
  readonly inChannels: number;
  readonly outChannels: number;
  /** [kh, kw] */
  readonly kernelSize: readonly [number, number];
  /** [sh, sw] */
  readonly strides: readonly [number, number];
  readonly padding: Padding;
  /** [outChannels, inChannels * kh * kw]; see the column order at the top of this file. */
  readonly weight: WeightMatrix;
  /** outChannels values, or null for no bias. */
  readonly bias: Float32Array | null;
  readonly activation: Activation;
}

export interface DenseNode extends NodeBase {
  readonly op: 'dense';
  readonly input: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [outFeatures, inFeatures] */
  readonly weight: WeightMatrix;
  readonly bias: Float32Array | null;
  readonly activation: Activation;
}

/** Inference-mode batch normalization over the last axis: y = gamma * (x - mean) / sqrt(variance + epsilon) + beta. */
export interface BatchNormNode extends NodeBase {
  readonly op: 'batchNorm';
  readonly input: string;
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly movingMean: Float32Array;
  readonly movingVariance: Float32Array;
  readonly epsilon: number;
}

export interface PoolNode extends NodeBase {
  readonly op: 'maxPool' | 'avgPool';
  readonly input: string;
  /** [ph, pw] */
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

/** Mean over the spatial axes: [h, w, c] -> [c]. */
export interface GlobalAvgPoolNode extends NodeBase {
  readonly op: 'globalAvgPool';
  readonly input: string;
}

/** Elementwise ops with one input. flatten turns [h, w, c] into [h * w * c] in NHWC order. */
export interface UnaryNode extends NodeBase {
  readonly op: 'relu' | 'flatten' | 'softmax';
  readonly input: string;
}

/** Elementwise sum of two same-shaped inputs (residual connections). */
export interface AddNode extends NodeBase {
  readonly op: 'add';
  readonly inputs: readonly [string, string];
}

export type GraphNode =
  | InputNode
  | Conv2dNode
  | DenseNode
  | BatchNormNode
  | PoolNode
  | GlobalAvgPoolNode
  | UnaryNode
  | AddNode;

export type OpName = GraphNode['op'];

/** A whole model: nodes in topological order; the output is `output` (a node name). */
export interface ModelGraph {
  readonly nodes: readonly GraphNode[];
  readonly output: string;
  /** Free-form, JSON-serializable facts: model name, training method, accuracy, label names. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The node type of an op: `NodeOf<'conv2d'>` is Conv2dNode, `NodeOf<'maxPool'>` is PoolNode. */
export type NodeOf<K extends OpName> = GraphNode extends infer N
  ? N extends { readonly op: infer O }
    ? K extends O
      ? N
      : never
    : never
  : never;
