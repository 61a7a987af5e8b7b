// Checkpoints: everything an interrupted run needs to resume exactly where it stopped.
import { io, tidy, type LayersModel, type Optimizer, type Tensor } from '@tensorflow/tfjs';

/** tfjs's NamedTensor, which its public index does not export. */
type NamedTensor = { name: string; tensor: Tensor };
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RandomState } from '../util/random.js';
import { folderHandler } from './model-files.js';

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  readonly version: 1;
  /** Epochs fully completed. */
  readonly epochsDone: number;
  /** Optimizer steps completed. */
  readonly step: number;
  /** The run generator's state after the last completed epoch. */
  readonly rng: RandomState;
  /** The training hooks' states, by hook name. */
  readonly hooks: Readonly<Record<string, unknown>>;
  /** Anything else the loop needs to resume (metrics so far, elapsed time). */
  readonly extra: Readonly<Record<string, unknown>>;
}

const POINTER = 'checkpoint.json';

interface Pointer {
  readonly latest: string;
}

async function saveOptimizer(dir: string, optimizer: Optimizer): Promise<void> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await io.encodeWeights(weights);
  await writeFileAtomic(
    join(dir, 'optimizer.bin'),
    new Uint8Array(io.concatenateArrayBuffers(data)),
  );
  await writeFileAtomic(join(dir, 'optimizer.json'), JSON.stringify(specs));
}

async function loadOptimizer(dir: string, optimizer: Optimizer): Promise<void> {
  const specs = JSON.parse(
    await readFile(join(dir, 'optimizer.json'), 'utf8'),
  ) as io.WeightsManifestEntry[];
  const bytes = await readFile(join(dir, 'optimizer.bin'));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const map = io.decodeWeights(buffer, specs);
  const named: NamedTensor[] = specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
  await optimizer.setWeights(named);
  // setWeights copies each tensor into a new variable; the decoded tensors are ours to free.
  tidy(() => named.forEach((n) => n.tensor.dispose()));
}

/**
 * Writes a checkpoint into `runDir/checkpoints/epoch-NNN/`, then points `runDir/checkpoint.json` at it
 * with an atomic rename. A crash at any moment leaves the previous checkpoint usable. Older checkpoints
 * are removed once the pointer has moved.
 */
export async function saveCheckpoint(
  runDir: string,
  model: LayersModel,
  optimizer: Optimizer,
  state: CheckpointState,
): Promise<void> {
  const name = `epoch-${String(state.epochsDone).padStart(3, '0')}`;
  const root = join(runDir, 'checkpoints');
  const staging = join(root, `.${name}.staging`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await model.save(folderHandler(join(staging, 'model')));
  await saveOptimizer(staging, optimizer);
  await writeFileAtomic(join(staging, 'state.json'), JSON.stringify(state));
  await rm(join(root, name), { recursive: true, force: true });
  await rename(staging, join(root, name));
  await writeFileAtomic(join(runDir, POINTER), JSON.stringify({ latest: `checkpoints/${name}` }));
  for (const entry of await readdir(root)) {
    if (entry !== name && !entry.startsWith('.')) {
      await rm(join(root, entry), { recursive: true, force: true });
    }
  }
}

/** Whether `runDir` holds a checkpoint to resume from. */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  try {
    await readFile(join(runDir, POINTER));
    return true;
  } catch {
    return false;
  }
}

/**
 * Restores model weights (masks included) and optimizer state from the latest checkpoint, and returns
 * its JSON state. The model must have the architecture the checkpoint was made from.
 */
export async function loadCheckpoint(
  runDir: string,
  model: LayersModel,
  optimizer: Optimizer,
): Promise<CheckpointState> {
  const pointerPath = join(runDir, POINTER);
  let pointer: Pointer;
  try {
    pointer = JSON.parse(await readFile(pointerPath, 'utf8')) as Pointer;
  } catch (error) {
    throw new DataNotFoundError(`No checkpoint to resume from in ${runDir}.`, { cause: error });
  }
  const dir = join(runDir, pointer.latest);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  if (state.version !== 1) {
    throw new CorruptFileError(
      join(dir, 'state.json'),
      `has version ${String(state.version)}, expected 1.`,
    );
  }
  const artifacts = await folderHandler(join(dir, 'model')).load!();
  const specs = artifacts.weightSpecs ?? [];
  const saved = io.decodeWeights(io.concatenateArrayBuffers(artifacts.weightData ?? []), specs);
  const weights = model.weights;
  if (weights.length !== specs.length) {
    throw new CorruptFileError(
      dir,
      `holds ${specs.length} weights but the model has ${weights.length}; was it made by another model?`,
    );
  }
  // Weight names can gain suffixes when several models live in one process, so match by position.
  model.setWeights(specs.map((s) => saved[s.name]!));
  tidy(() => Object.values(saved).forEach((t) => t.dispose()));
  await loadOptimizer(dir, optimizer);
  return state;
}
