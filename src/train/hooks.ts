// The interface through which sparse-training algorithms (and anything else) join the training loop.
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import type { Random } from '../util/random.js';

/** Per-layer sparsity, as written to sparsity.jsonl. */
export interface LayerSparsity {
  readonly name: string;
  /** Number of kernel weights. */
  readonly size: number;
  readonly nnz: number;
  /** Fraction of zeros: 1 − nnz / size. */
  readonly sparsity: number;
}

/** One line of sparsity.jsonl: the state after a mask update (or at the start). */
export interface SparsityRecord {
  readonly step: number;
  readonly epoch: number;
  readonly globalSparsity: number;
  readonly layers: readonly LayerSparsity[];
  /** Algorithm-specific facts, for example DSR's threshold `H` and `prunedCount`. */
  readonly [extra: string]: unknown;
}

export interface TrainBeginInfo {
  readonly model: LayersModel;
  readonly optimizer: Optimizer;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** The step training starts at: 0, or later when resuming. */
  readonly startStep: number;
  /** The run's generator, shared with data shuffling; consume it only in a deterministic order. */
  readonly rng: Random;
}

export interface StepEndInfo {
  /** Steps completed so far (1 after the first optimizer step). */
  readonly step: number;
  /** Zero-based epoch of this step. */
  readonly epoch: number;
  readonly totalSteps: number;
  /** The batch just trained on; valid only during the call. Algorithms that need gradients use it. */
  readonly x: Tensor;
  readonly y: Tensor;
}

/**
 * A participant in the training loop. Every method is optional. A method that changes masks returns the
 * resulting {@link SparsityRecord}; the loop times it, records it and writes it to sparsity.jsonl.
 */
export interface TrainingHook {
  readonly name: string;
  /** Before the first step (also after a resume, with `startStep` > 0). */
  onTrainBegin?(info: TrainBeginInfo): SparsityRecord | void;
  /** After every optimizer step. */
  onStepEnd?(info: StepEndInfo): SparsityRecord | void;
  /** After the last step, before the final evaluation (one-shot pruning prunes here). */
  onTrainEnd?(info: { readonly step: number; readonly epoch: number }): SparsityRecord | void;
  /** JSON-serializable state for checkpoints. */
  getState?(): unknown;
  /** Restores {@link TrainingHook.getState}'s output when resuming. */
  setState?(state: unknown): void;
}

/**
 * `records` with their layer names replaced by `names`, matched by position. tfjs numbers layer names per
 * process (`dynamic_dense_DynamicDense1` here, `...DynamicDense3` in a process that built two models
 * first), so the records a checkpoint restores may name the layers differently from the model that
 * resumes them; renamed, a run's sparsity.jsonl names each layer one way from start to end. Keys of
 * per-layer facts (DSR's `reallocated`) are renamed too. With another layer count nothing is renamed.
 */
export function renameRecordLayers(
  records: readonly SparsityRecord[],
  names: readonly string[],
): SparsityRecord[] {
  const from = records.find((r) => r.layers.length > 0)?.layers.map((l) => l.name);
  if (from === undefined || from.length !== names.length) return [...records];
  const to = new Map(from.map((name, i) => [name, names[i]!]));
  const rename = (name: string): string => to.get(name) ?? name;
  const renameKeys = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.some(([key]) => to.has(key))) return value;
    return Object.fromEntries(entries.map(([key, v]) => [rename(key), v]));
  };
  return records.map((record) => {
    const renamed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) renamed[key] = renameKeys(value);
    renamed['layers'] = record.layers.map((l) => ({ ...l, name: rename(l.name) }));
    return renamed as SparsityRecord;
  });
}
