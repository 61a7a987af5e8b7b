// Checkpoints: everything an interrupted run needs to resume exactly where it stopped, checksummed.
import {
  io,
  scalar,
  tidy,
  type LayersModel,
  type Optimizer,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChecksumError, CorruptFileError, DataNotFoundError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RandomState } from '../util/random.js';
import { folderHandler } from './model-files.js';

/** tfjs's NamedTensor, which its public index does not export. */
type NamedTensor = { name: string; tensor: Tensor };

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

/** The pointer file, in the run folder, naming the latest checkpoint. */
export const CHECKPOINT_POINTER = 'checkpoint.json';
/** The folder, in the run folder, that holds the checkpoints. */
export const CHECKPOINTS_FOLDER = 'checkpoints';
const MANIFEST = 'manifest.json';
/** The only thing a pointer may name: a checkpoint folder inside the run folder's checkpoints/. */
const POINTER_TARGET = /^checkpoints\/(epoch-\d{3,})$/;
/** The files of a checkpoint, in the order they are written; the manifest comes last. */
const CHECKPOINT_FILES = [
  'model/model.json',
  'model/weights.bin',
  'optimizer.json',
  'optimizer.bin',
  'state.json',
] as const;

/** What state.json holds: the loop's state plus the optimizer's scalar accumulators. */
interface StoredState extends CheckpointState {
  /**
   * The optimizer's scalar variables by field name (Adam's `accBeta1`/`accBeta2`: β^t accumulated step by
   * step). tfjs's `setWeights` recomputes them as pow(β, t+1), which differs from the running product in
   * the last bits; restoring the stored float32 values makes a resumed run bit-identical.
   */
  readonly optimizerScalars?: Readonly<Record<string, number>>;
}

interface ManifestEntry {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The optimizer's own rank-0 variables (Adam's accBeta1 and accBeta2), by field name. */
function scalarVariables(optimizer: Optimizer): Map<string, { assign(t: Tensor): void } & Tensor> {
  const found = new Map<string, { assign(t: Tensor): void } & Tensor>();
  for (const [key, value] of Object.entries(optimizer)) {
    const v = value as Partial<Tensor & { assign: unknown; trainable: unknown }> | null;
    if (v && typeof v === 'object' && typeof v.assign === 'function' && v.rank === 0) {
      found.set(key, v as { assign(t: Tensor): void } & Tensor);
    }
  }
  return found;
}

async function saveOptimizer(dir: string, optimizer: Optimizer): Promise<Record<string, number>> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await io.encodeWeights(weights);
  await writeFileAtomic(
    join(dir, 'optimizer.bin'),
    new Uint8Array(io.concatenateArrayBuffers(data)),
  );
  await writeFileAtomic(join(dir, 'optimizer.json'), JSON.stringify(specs));
  const scalars: Record<string, number> = {};
  for (const [key, v] of scalarVariables(optimizer)) scalars[key] = v.dataSync()[0]!;
  return scalars;
}

/**
 * Maps the optimizer slot names of a checkpoint (`<variable>/m`, `<variable>/momentum`...) to this
 * process's variable names. tfjs names variables with a counter (`dense_Dense1/kernel` in one process,
 * `dense_Dense3/kernel` in another that built more models first), and the moment resets of sparse
 * training find a variable's slots by name: without the renaming, a resumed run would stop resetting
 * the moments of rewired weights. The slots' variables come in the training order, which is the order
 * of the model's trainable weights. A checkpoint with slots for another number of variables was saved
 * for another model: refused (CorruptFileError at `path`), since its moments could not be matched.
 */
export function slotRenaming(
  path: string,
  specs: readonly io.WeightsManifestEntry[],
  variableNames: readonly string[],
): (name: string) => string {
  const saved: string[] = [];
  for (const spec of specs) {
    const cut = spec.name.lastIndexOf('/');
    const variable = cut > 0 ? spec.name.slice(0, cut) : undefined;
    if (variable !== undefined && !saved.includes(variable)) saved.push(variable);
  }
  if (saved.length > 0 && saved.length !== variableNames.length) {
    throw new CorruptFileError(
      path,
      `holds optimizer slots for ${saved.length} variables, but the model trains ${variableNames.length}: ` +
        'the checkpoint was saved for another model, so its moments cannot be matched to the weights. ' +
        'Start the run again with --overwrite.',
    );
  }
  const to = new Map(saved.map((v, i) => [v, variableNames[i]!]));
  return (name) => {
    const cut = name.lastIndexOf('/');
    const now = cut > 0 ? to.get(name.slice(0, cut)) : undefined;
    return now === undefined ? name : `${now}${name.slice(cut)}`;
  };
}

async function loadOptimizer(
  dir: string,
  optimizer: Optimizer,
  scalars: Readonly<Record<string, number>>,
  variableNames: readonly string[],
): Promise<void> {
  const specs = parseJson<io.WeightsManifestEntry[]>(
    join(dir, 'optimizer.json'),
    await readFile(join(dir, 'optimizer.json'), 'utf8'),
  );
  const bytes = await readFile(join(dir, 'optimizer.bin'));
  const expected = Array.isArray(specs)
    ? specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0)
    : NaN;
  if (bytes.length !== expected) {
    throw new CorruptFileError(
      join(dir, 'optimizer.bin'),
      `holds ${bytes.length} bytes but optimizer.json describes ${expected}.`,
    );
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const map = io.decodeWeights(buffer, specs);
  const rename = slotRenaming(join(dir, 'optimizer.json'), specs, variableNames);
  const named: NamedTensor[] = specs.map((s) => ({
    name: rename(s.name),
    tensor: map[s.name]!,
  }));
  await optimizer.setWeights(named);
  // setWeights copies each tensor into a new variable; the decoded tensors are ours to free.
  tidy(() => named.forEach((n) => n.tensor.dispose()));
  const variables = scalarVariables(optimizer);
  for (const [key, value] of Object.entries(scalars)) {
    const v = variables.get(key);
    if (v === undefined) {
      throw new CorruptFileError(
        join(dir, 'state.json'),
        `stores the optimizer scalar '${key}', which this ${optimizer.getClassName()} optimizer does not ` +
          'have: the checkpoint was saved by another optimizer. Resume with the same --optimizer.',
      );
    }
    tidy(() => v.assign(scalar(value)));
  }
}

function parseJson<T>(path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new CorruptFileError(
      path,
      'is not valid JSON (truncated?). The checkpoint cannot be used.',
      'E_CORRUPT_FILE',
      { cause: error },
    );
  }
}

/** True when `path` is a real folder (not a symbolic link, not a file). */
async function isRealFolder(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Hashes the checkpoint's files and writes the manifest that resume verifies. */
async function writeManifest(dir: string): Promise<void> {
  const files: ManifestEntry[] = [];
  for (const path of CHECKPOINT_FILES) {
    const bytes = await readFile(join(dir, path));
    files.push({ path, bytes: bytes.length, sha256: sha256(bytes) });
  }
  await writeFileAtomic(join(dir, MANIFEST), JSON.stringify({ version: 1, files }, null, 1));
}

/** Checks every file of a checkpoint against its manifest; a missing, short or changed file is refused. */
async function verifyManifest(dir: string): Promise<void> {
  const manifestPath = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new CorruptFileError(
      manifestPath,
      'is missing: the checkpoint was not written by this version, or was damaged.',
      'E_CORRUPT_FILE',
      { cause: error },
    );
  }
  const manifest = parseJson<{ files?: ManifestEntry[] }>(manifestPath, text);
  const entries = Array.isArray(manifest.files) ? manifest.files : [];
  for (const name of CHECKPOINT_FILES) {
    const entry = entries.find((e) => e.path === name);
    const path = join(dir, name);
    if (!entry) throw new CorruptFileError(manifestPath, `lists no checksum for ${name}.`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new CorruptFileError(path, 'is missing from the checkpoint.', 'E_CORRUPT_FILE', {
        cause: error,
      });
    }
    const actual = sha256(bytes);
    if (bytes.length !== entry.bytes || actual !== entry.sha256) {
      throw new ChecksumError(
        path,
        `sha256 ${entry.sha256} (${entry.bytes} bytes)`,
        `sha256 ${actual} (${bytes.length} bytes)`,
        'The checkpoint was changed or damaged after it was written; it cannot be resumed.',
      );
    }
  }
}

/**
 * Writes a checkpoint into `runDir/checkpoints/epoch-NNN/` (files, then a manifest of their SHA-256),
 * then points `runDir/checkpoint.json` at it with an atomic rename. A crash at any moment leaves the
 * previous checkpoint usable. Once the pointer has moved, the previous checkpoint (the one the pointer
 * named) is removed, and nothing else: clean-up never lists a folder, so a symlinked `checkpoints/` or
 * files of someone else's beside the checkpoints are never touched.
 */
export async function saveCheckpoint(
  runDir: string,
  model: LayersModel,
  optimizer: Optimizer,
  state: CheckpointState,
): Promise<void> {
  const name = `epoch-${String(state.epochsDone).padStart(3, '0')}`;
  const root = join(runDir, CHECKPOINTS_FOLDER);
  const previous = await readPointerTarget(runDir).catch(() => undefined);
  const staging = join(root, `.${name}.staging`);
  if (await isRealFolder(staging)) await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await model.save(folderHandler(join(staging, 'model')));
  const optimizerScalars = await saveOptimizer(staging, optimizer);
  const stored: StoredState = { ...state, optimizerScalars };
  await writeFileAtomic(join(staging, 'state.json'), JSON.stringify(stored));
  await writeManifest(staging);
  const target = join(root, name);
  // A folder of this name is a checkpoint this run wrote before a crash, never pointed at; a link is
  // removed as a link (rm does not follow it).
  await rm(target, { recursive: await isRealFolder(target), force: true });
  await rename(staging, target);
  await writeFileAtomic(
    join(runDir, CHECKPOINT_POINTER),
    JSON.stringify({ latest: `${CHECKPOINTS_FOLDER}/${name}` }),
  );
  if (previous !== undefined && previous !== name && (await isRealFolder(join(root, previous)))) {
    await rm(join(root, previous), { recursive: true, force: true });
  }
}

/** Whether `runDir` holds a checkpoint pointer (a checkpoint to resume from). */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  try {
    await lstat(join(runDir, CHECKPOINT_POINTER));
    return true;
  } catch {
    return false;
  }
}

/**
 * The checkpoint folder name (`epoch-NNN`) the pointer names. The pointer may only name a folder
 * directly inside the run's `checkpoints/`; anything else (`../elsewhere`, an absolute path, a number) is
 * refused.
 */
async function readPointerTarget(runDir: string): Promise<string> {
  const pointerPath = join(runDir, CHECKPOINT_POINTER);
  let text: string;
  try {
    text = await readFile(pointerPath, 'utf8');
  } catch (error) {
    throw new DataNotFoundError(`No checkpoint to resume from in ${runDir}.`, { cause: error });
  }
  const pointer = parseJson<{ latest?: unknown } | null>(pointerPath, text);
  const latest = pointer !== null && typeof pointer === 'object' ? pointer.latest : undefined;
  const match = typeof latest === 'string' ? POINTER_TARGET.exec(latest) : null;
  if (!match) {
    throw new CorruptFileError(
      pointerPath,
      `names ${JSON.stringify(latest)}; expected "checkpoints/epoch-NNN", a checkpoint inside the run ` +
        'folder. Fix or delete the pointer (and resume from a checkpoint by hand), or start again with --overwrite.',
    );
  }
  return match[1]!;
}

/** The number of epochs the latest checkpoint holds, or undefined when there is none or it is unreadable. */
export async function checkpointEpoch(runDir: string): Promise<number | undefined> {
  try {
    return Number((await readPointerTarget(runDir)).slice('epoch-'.length));
  } catch {
    return undefined;
  }
}

/**
 * Restores model weights (masks included) and optimizer state from the latest checkpoint, and returns
 * its JSON state. Every file is checked against the checkpoint's manifest first. The model must have the
 * architecture the checkpoint was made from.
 *
 * @throws CorruptFileError when the pointer names anything but a checkpoint of this run folder, or a file
 *   is missing, truncated or not what its format promises; ChecksumError when a file changed.
 */
export async function loadCheckpoint(
  runDir: string,
  model: LayersModel,
  optimizer: Optimizer,
): Promise<CheckpointState> {
  const dir = join(runDir, CHECKPOINTS_FOLDER, await readPointerTarget(runDir));
  await verifyManifest(dir);
  const statePath = join(dir, 'state.json');
  const state = parseJson<StoredState>(statePath, await readFile(statePath, 'utf8'));
  if (state === null || typeof state !== 'object' || state.version !== 1) {
    throw new CorruptFileError(statePath, `has version ${String(state?.version)}, expected 1.`);
  }
  if (!Number.isSafeInteger(state.epochsDone) || !Number.isSafeInteger(state.step)) {
    throw new CorruptFileError(statePath, 'lacks the epoch and step counts.');
  }
  const artifacts = await folderHandler(join(dir, 'model')).load!();
  const specs = artifacts.weightSpecs ?? [];
  const saved = io.decodeWeights(io.concatenateArrayBuffers(artifacts.weightData ?? []), specs);
  const weights = model.weights;
  if (weights.length !== specs.length) {
    tidy(() => Object.values(saved).forEach((t) => t.dispose()));
    throw new CorruptFileError(
      dir,
      `holds ${specs.length} weights but the model has ${weights.length}; was it made by another model?`,
    );
  }
  // Weight names can gain suffixes when several models live in one process, so match by position.
  model.setWeights(specs.map((s) => saved[s.name]!));
  tidy(() => Object.values(saved).forEach((t) => t.dispose()));
  const variableNames = model.trainableWeights.map((w) => (w.read() as Variable).name);
  await loadOptimizer(dir, optimizer, state.optimizerScalars ?? {}, variableNames);
  const { optimizerScalars: _scalars, ...rest } = state;
  return rest;
}
