// What DynamicConv2D and DynamicDense share: a kernel, a binary mask weight, and exact sparsity control.
import {
  customGrad,
  getBackend,
  initializers,
  layers,
  tensor,
  tidy,
  type DataId,
  type LayerVariable,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import { BackendError, InvalidArgumentError } from '../errors.js';
import { sparseBackend, sparsePays, type KernelMode } from '../engine/sparse-choice.js';
import { SparseLayout } from '../engine/sparse-layout.js';
import { trackSparseKernel } from '../engine/sparse-update.js';
import { Random } from '../util/random.js';
import { checkActivation, type ActivationName } from './activations.js';
import { scaleToActiveFanIn } from './sparse-init.js';
import { countNonzero, indicesWhere, nnzForSparsity, randomChoice, topK } from './mask-math.js';

/** How the first mask is chosen when the layer is built. */
export type MaskInit = 'random' | 'magnitude';
export const maskInits: readonly MaskInit[] = ['random', 'magnitude'];

/** Arguments every dynamic layer adds to its dense counterpart's. */
export interface SparsityArgs {
  /** Initial sparsity: the fraction of kernel weights that are zero, in [0, 1). Default 0. */
  sparsity?: number;
  /** `random` (default): a uniformly random mask; `magnitude`: keep the largest initial weights. */
  maskInit?: MaskInit;
  /** Seeds the random mask. Default 0. */
  seed?: number;
  /**
   * Sparse-aware initialization: after choosing the first mask, scale each unit's weights to its active
   * fan-in (`scaleToActiveFanIn`, Evci et al. 2022). Default false.
   */
  sparseInit?: boolean;
}

/** A tfjs weight initializer (tf.initializers.*), which tfjs's index exports only as a namespace. */
export type Initializer = ReturnType<typeof initializers.zeros>;

/**
 * The arguments DynamicConv2D and DynamicDense share: those of tfjs's conv2d and dense layers that both
 * support, plus the sparsity arguments.
 */
export interface MaskedLayerArgs extends SparsityArgs {
  /** 'linear' (default), 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh' or 'softmax'. */
  activation?: string;
  /** Whether to add a bias (default true). */
  useBias?: boolean;
  /** Kernel initializer (default glorotUniform seeded by `seed`). */
  kernelInitializer?: Initializer;
  /** Bias initializer (default zeros). */
  biasInitializer?: Initializer;
  /** Required on the first layer of a Sequential model. */
  inputShape?: number[];
  /** Layer name. */
  name?: string;
  /** Whether the kernel and bias train (default true; the mask never does). */
  trainable?: boolean;
}

/** Checks a sparsity value: a number in [0, 1). */
export function checkSparsity(s: number, where = 'sparsity'): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s >= 1) {
    throw new InvalidArgumentError(
      `${where} must be a fraction of zeros in [0, 1), got ${String(s)}. For 90% zeros use 0.9.`,
    );
  }
  return s;
}

/** Checks a layer's size argument (`filters`, `units`): a positive integer. */
export function checkPositiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

/** One mask write that changed something: the layer and the flat positions whose mask bit flipped. */
export interface MaskWrite {
  readonly layer: MaskedLayer;
  readonly changed: Int32Array;
}

const maskWriteListeners = new Set<(write: MaskWrite) => void>();

/**
 * Calls `listener` after every mask write of any dynamic layer that flips at least one position, whatever
 * wrote it (an algorithm, `setSparsity`, `sparsify`, `resetMask`). Training loops use it to reset optimizer
 * moments at changed positions (DESIGN.md, "Optimizer state"). Returns the function that unsubscribes.
 */
export function onMaskWrite(listener: (write: MaskWrite) => void): () => void {
  maskWriteListeners.add(listener);
  return () => {
    maskWriteListeners.delete(listener);
  };
}

function notifyMaskWrite(write: MaskWrite): void {
  for (const listener of [...maskWriteListeners]) listener(write);
}

/** The layers written inside the running {@link batchMaskWrites}, each with its mask before the first write. */
let heldWrites: Map<MaskedLayer, Float32Array> | undefined;

/**
 * Runs `fn` with mask-write notifications held back, then reports each written layer once, with the
 * positions whose mask differs from before `fn`. A write that a later one undoes inside `fn` is then no
 * change: listeners, such as the optimizer-moment resets, see only what really changed across the
 * update. The reports are made even when `fn` throws (what was written stays written). A call inside
 * another joins the outer one.
 */
export function batchMaskWrites<T>(fn: () => T): T {
  if (heldWrites) return fn();
  const held = new Map<MaskedLayer, Float32Array>();
  heldWrites = held;
  try {
    return fn();
  } finally {
    heldWrites = undefined;
    for (const [layer, before] of held) {
      const changed = changedPositions(before, layer.getMask());
      if (changed.length > 0) notifyMaskWrite({ layer, changed });
    }
  }
}

export interface SetSparsityOptions {
  /** Chooses regrown positions when the sparsity goes down; default: the layer's own seeded generator. */
  readonly rng?: Random;
}

/** What is known about the mask variable's current data (valid while it holds the same data). */
interface MaskState {
  readonly maskId: DataId;
  /** A copy of the mask, never handed out (callers get copies of it). */
  readonly mask: Float32Array;
  readonly nnz: number;
  /** The sparse path's layout, built on first use. */
  layout: SparseLayout | undefined;
}

/**
 * The base of layers whose effective kernel is `kernel * mask`: the arguments, activation, bias and mask
 * they share. Subclasses work out their kernel's shape and call {@link MaskedLayer.buildWeights} in
 * `build()`. The mask is a non-trainable weight, so it is saved and
 * loaded with the model; masked kernel entries get zero gradient because the forward pass multiplies
 * by the mask.
 */
export abstract class MaskedLayer extends layers.Layer {
  protected kernel: LayerVariable | null = null;
  protected bias: LayerVariable | null = null;
  protected mask: LayerVariable | null = null;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  protected readonly initialSparsity: number;
  readonly maskInit: MaskInit;
  readonly seed: number;
  readonly sparseInit: boolean;

  private rng: Random;
  /**
   * Which kernels compute this layer on the wasm backend: `auto` (default) picks the sparse ones when the
   * density is at or below the measured crossover, `dense` and `sparse` force one. Not saved with the model.
   */
  kernelMode: KernelMode = 'auto';
  private maskState: MaskState | undefined;
  /** Whether the last forward pass ran on the sparse kernels (read by the optimizers). */
  private lastPassSparse = false;
  /** Set during {@link MaskedLayer.withDenseKernelGradients}: dense kernels, unmasked kernel gradient. */
  private denseGradientPass = false;
  private builtLayouts = 0;

  constructor(args: MaskedLayerArgs) {
    super(args);
    this.initialSparsity = checkSparsity(args.sparsity ?? 0);
    const init = args.maskInit ?? 'random';
    if (!maskInits.includes(init)) {
      throw new InvalidArgumentError(
        `maskInit must be one of ${maskInits.join(', ')}, got "${String(init)}".`,
      );
    }
    this.maskInit = init;
    this.seed = args.seed ?? 0;
    this.sparseInit = args.sparseInit ?? false;
    this.rng = new Random(this.seed);
    this.activation = checkActivation(args.activation);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer =
      args.kernelInitializer ?? initializers.glorotUniform({ seed: this.seed });
    this.biasInitializer = args.biasInitializer ?? initializers.zeros();
  }

  /**
   * Creates the weights, in the order models save them: the kernel of `shape` ([..., in, out]), the bias
   * (one per output unit) when the layer has one, and the mask with the initial sparsity.
   */
  protected buildWeights(shape: number[]): void {
    this.kernel = this.addWeight('kernel', shape, 'float32', this.kernelInitializer);
    if (this.useBias)
      this.bias = this.addWeight(
        'bias',
        [shape[shape.length - 1]!],
        'float32',
        this.biasInitializer,
      );
    this.mask = this.addWeight('mask', shape, 'float32', initializers.ones(), undefined, false);
    this.resetMask(this.initialSparsity, this.maskInit);
    if (this.sparseInit && this.initialSparsity > 0) scaleToActiveFanIn(this);
    this.built = true;
  }

  /**
   * Chooses a fresh mask over the whole kernel: the `nnz` largest current weights (`magnitude`) or
   * uniformly random ones (`random`), then zeroes the rest of the kernel. Used at build time, and by
   * `sparsify` after copying a dense layer's weights in.
   */
  resetMask(sparsity: number, init: MaskInit, rng: Random = this.rng): void {
    checkSparsity(sparsity);
    const size = this.kernelSize;
    const keep = nnzForSparsity(sparsity, size);
    const all = Int32Array.from({ length: size }, (_, i) => i);
    let chosen: Int32Array;
    if (init === 'magnitude') {
      const values = this.kernelVariable.read().dataSync();
      chosen = topK(all, (i) => Math.abs(values[i]!), keep);
    } else {
      chosen = randomChoice(all, keep, rng);
    }
    const mask = new Float32Array(size);
    for (const i of chosen) mask[i] = 1;
    this.writeMaskAndKernel(mask, null);
  }

  /** The trainable kernel variable (for optimizers and algorithms). */
  get kernelVariable(): LayerVariable {
    if (this.kernel === null)
      throw new InvalidArgumentError(`Layer ${this.name} is not built yet.`);
    return this.kernel;
  }

  /** The mask variable: 1 keeps a weight, 0 prunes it. */
  get maskVariable(): LayerVariable {
    if (this.mask === null) throw new InvalidArgumentError(`Layer ${this.name} is not built yet.`);
    return this.mask;
  }

  /** Number of kernel weights (masked or not). */
  get kernelSize(): number {
    return this.shapeOf(this.maskVariable).reduce((a, b) => a * b, 1);
  }

  private shapeOf(v: LayerVariable): number[] {
    return v.shape.map((d) => d ?? 0);
  }

  /** A copy of the mask, one 0/1 float per kernel weight, in the kernel's layout. */
  getMask(): Float32Array {
    return this.currentMask().mask.slice();
  }

  /** A copy of the raw kernel (masked positions hold whatever the variable holds). */
  getKernel(): Float32Array {
    return copyOf(this.kernelVariable.read());
  }

  /** Number of unmasked kernel weights. */
  get nnz(): number {
    return this.currentMask().nnz;
  }

  /**
   * The mask variable's data as last read, read again only when the variable holds new data (any
   * write: a mask update, setWeights, a checkpoint load), so mask updates and records do not download
   * every mask again.
   */
  private currentMask(): MaskState {
    const variable = this.maskVariable.read();
    if (this.maskState?.maskId !== variable.dataId) {
      this.maskState?.layout?.dispose();
      const mask = copyOf(variable);
      this.maskState = {
        maskId: variable.dataId,
        mask,
        nnz: countNonzero(mask),
        layout: undefined,
      };
    }
    return this.maskState;
  }

  /** Fraction of masked kernel weights: 1 − nnz / kernelSize. */
  get sparsity(): number {
    return 1 - this.nnz / this.kernelSize;
  }

  /**
   * Replaces the mask, and optionally the kernel, in one step. Values at masked positions of the kernel
   * are forced to 0 so that pruned weights are exactly zero in the variable too.
   */
  writeMaskAndKernel(mask: Float32Array, kernel: Float32Array | null): void {
    const shape = this.shapeOf(this.maskVariable);
    if (mask.length !== this.kernelSize || (kernel !== null && kernel.length !== this.kernelSize)) {
      throw new InvalidArgumentError(
        `Layer ${this.name}: a mask and kernel need ${this.kernelSize} values, got ${mask.length}` +
          (kernel ? ` and ${kernel.length}` : '') +
          '.',
      );
    }
    const previous = this.currentMask().mask;
    const changed = changedPositions(previous, mask);
    const values = kernel ?? this.getKernel();
    let zeroed = false;
    for (let i = 0; i < values.length; i++) {
      if (mask[i] === 0 && values[i] !== 0) {
        values[i] = 0;
        zeroed = true;
      }
    }
    // An unchanged mask keeps its data, and with it the sparse layout built from it; an unchanged
    // kernel is not uploaded again. Mask updates then rebuild only the layers they changed.
    const kernelChanged =
      changed.length > 0 || (kernel === null ? zeroed : !sameValues(this.getKernel(), values));
    tidy(() => {
      if (changed.length > 0) this.maskVariable.write(tensor(mask, shape));
      if (kernelChanged) this.kernelVariable.write(tensor(values, shape));
    });
    if (changed.length === 0) return;
    // What was just written is the mask's new state: no need to read it back.
    this.maskState?.layout?.dispose();
    this.maskState = {
      maskId: this.maskVariable.read().dataId,
      mask: mask.slice(),
      nnz: countNonzero(mask),
      layout: undefined,
    };
    if (heldWrites) {
      if (!heldWrites.has(this)) heldWrites.set(this, previous.slice());
      return;
    }
    notifyMaskWrite({ layer: this, changed });
  }

  /**
   * The compressed layout to compute with, or undefined for the dense path (see {@link kernelMode}). The
   * layout is rebuilt only when the mask variable's data changed (a mask write, setWeights, a checkpoint
   * load), so a training step costs no rebuild.
   */
  protected sparseLayout(kind: 'conv' | 'dense'): SparseLayout | undefined {
    if (this.kernelMode === 'dense') return undefined;
    const backend = sparseBackend();
    if (backend === undefined) {
      if (this.kernelMode === 'auto') return undefined;
      throw new BackendError(
        `Layer ${this.name}: kernelMode "sparse" needs the wasm backend with dynaprune's training ` +
          'kernels (initBackend("wasm")); use "auto" or "dense" on other backends.',
      );
    }
    const state = this.currentMask();
    if (this.kernelMode === 'auto' && !sparsePays(kind, state.nnz / this.kernelSize)) {
      return undefined;
    }
    if (state.layout === undefined) {
      const shape = this.shapeOf(this.maskVariable);
      const co = shape[shape.length - 1]!;
      state.layout = new SparseLayout(backend, state.mask, this.kernelSize / co, co);
      this.builtLayouts++;
    }
    return state.layout;
  }

  /**
   * How many compressed layouts this layer has built so far: one each time it computes on the sparse path
   * with a mask it has not computed with before. Mask updates should raise it only for the layers they
   * change; a benchmark or test reads it to see that they do.
   */
  get layoutBuilds(): number {
    return this.builtLayouts;
  }

  /**
   * Runs `fn`, typically a forward and backward pass, with the `masked` layers on the dense kernels and
   * with an effective kernel whose gradient reaches the kernel variable unmasked: the gradient of the
   * loss with respect to each kernel variable is then ∂loss/∂(kernel × mask) at every position, masked
   * ones included. This is the explicit request for dense kernel gradients (RigL's grow score; DESIGN.md,
   * "Sparse layers compute sparse"). Outputs are those of the usual dense path, bit for bit; masks are
   * not written, so every sparse layout survives, and the layers' paths for the optimizer are left as the
   * last training pass set them.
   */
  static withDenseKernelGradients<T>(masked: readonly MaskedLayer[], fn: () => T): T {
    const previous = masked.map((l) => l.denseGradientPass);
    for (const l of masked) l.denseGradientPass = true;
    try {
      return fn();
    } finally {
      masked.forEach((l, i) => {
        l.denseGradientPass = previous[i]!;
      });
    }
  }

  /**
   * Picks the path for one forward pass ({@link sparseLayout}) and remembers it, so that the optimizer
   * updates the kernel at the layout's active positions only (`sparseLayoutOf`).
   */
  protected choosePath(kind: 'conv' | 'dense', sparseAllowed = true): SparseLayout | undefined {
    // The dense-gradient pass is no training pass: no optimizer step follows it.
    if (this.denseGradientPass) return undefined;
    if (!this.tracked) {
      trackSparseKernel(this.kernelVariable.read() as Variable, () => this.trainedLayout());
      this.tracked = true;
    }
    const layout = sparseAllowed ? this.sparseLayout(kind) : undefined;
    this.lastPassSparse = layout !== undefined;
    return layout;
  }

  private tracked = false;

  /** The layout the last forward pass trained with, while the mask is still the one it was built from. */
  private trainedLayout(): SparseLayout | undefined {
    if (!this.lastPassSparse || this.maskState === undefined) return undefined;
    return this.maskState.maskId === this.maskVariable.read().dataId
      ? this.maskState.layout
      : undefined;
  }

  override dispose(): ReturnType<layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      this.maskState?.layout?.dispose();
      this.maskState = undefined;
    }
    return result;
  }

  /**
   * Sets the sparsity now; afterwards `nnz == round((1 − s) · kernelSize)` exactly. Going up prunes the
   * smallest-magnitude active weights; going down regrows uniformly random pruned positions, at value 0
   * (so the layer's output does not jump).
   */
  setSparsity(s: number, options: SetSparsityOptions = {}): void {
    checkSparsity(s);
    const mask = this.getMask();
    const kernel = this.getKernel();
    const target = nnzForSparsity(s, mask.length);
    const active = indicesWhere(mask, 1);
    if (active.length > target) {
      const keep = topK(active, (i) => Math.abs(kernel[i]!), target);
      mask.fill(0);
      for (const i of keep) mask[i] = 1;
    } else if (active.length < target) {
      const grown = randomChoice(
        indicesWhere(mask, 0),
        target - active.length,
        options.rng ?? this.rng,
      );
      for (const i of grown) {
        mask[i] = 1;
        kernel[i] = 0;
      }
    }
    this.writeMaskAndKernel(mask, kernel);
  }

  /**
   * The kernel the layer computes with: kernel × mask. Its gradient reaches the kernel masked (zero at
   * pruned positions), except in {@link MaskedLayer.withDenseKernelGradients}, where it passes straight
   * through. The caller owns the result.
   */
  protected effectiveKernel(): Tensor {
    const kernel = this.kernelVariable.read();
    const mask = this.maskVariable.read();
    if (!this.denseGradientPass) return kernel.mul(mask);
    const straightThrough = customGrad((k) => ({
      value: (k as Tensor).mul(mask),
      gradFunc: (dy: Tensor) => dy.clone(),
    }));
    return straightThrough(kernel);
  }

  /** The config entries both layers save: activation, bias, and the sparsity arguments. */
  protected sharedConfig(): Record<string, number | string | boolean> {
    return {
      activation: this.activation,
      useBias: this.useBias,
      sparsity: this.initialSparsity,
      maskInit: this.maskInit,
      seed: this.seed,
      ...(this.sparseInit ? { sparseInit: true } : {}),
    };
  }
}

/**
 * A copy of a tensor's values that the caller may change. `dataSync` already returns a fresh array on
 * every backend but tfjs-cpu, which hands out its own storage; copying a million floats again for nothing
 * was a measurable part of a mask update.
 */
function copyOf(t: Tensor): Float32Array {
  const data = t.dataSync();
  if (!(data instanceof Float32Array)) return Float32Array.from(data);
  return getBackend() === 'cpu' ? data.slice() : data;
}

/** The flat positions where two masks differ (one is 0 and the other is not). */
function changedPositions(previous: Float32Array, mask: Float32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] === 0) !== (previous[i] === 0)) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] === 0) !== (previous[i] === 0)) out[n++] = i;
  return out;
}

/** Whether two arrays hold the same floats (bit for bit, so -0 and 0 differ and NaN equals NaN). */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
