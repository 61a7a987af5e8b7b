// The files of one training run: config.json, metrics.jsonl, sparsity.jsonl, and the checks before a run starts.
import { lstat, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RunFolderError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { removeStaleTemporaries } from '../util/stale-files.js';
import { CHECKPOINT_POINTER, CHECKPOINTS_FOLDER, checkpointEpoch } from './checkpoint.js';

const jsonLines = (rows: readonly unknown[]): string =>
  rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The files a run writes at the top of its folder; `--overwrite` removes these and nothing else. */
export const RUN_FILES = [
  'config.json',
  'metrics.jsonl',
  'sparsity.jsonl',
  'result.json',
  CHECKPOINT_POINTER,
] as const;
/** The files of the final tfjs model, in `model/`. */
const MODEL_FILES = ['model.json', 'weights.bin'] as const;

/** Writes a run's files atomically; each write replaces the whole file, so a reader never sees half a line. */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** The folder of the final tfjs model. */
  get modelDir(): string {
    return join(this.dir, 'model');
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeFileAtomic(join(this.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  async writeMetrics(rows: readonly unknown[]): Promise<void> {
    await writeFileAtomic(join(this.dir, 'metrics.jsonl'), jsonLines(rows));
  }

  async writeSparsity(rows: readonly unknown[]): Promise<void> {
    await writeFileAtomic(join(this.dir, 'sparsity.jsonl'), jsonLines(rows));
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(join(this.dir, name), JSON.stringify(value, null, 2) + '\n');
  }
}

/** How {@link prepareRunFolder} found the folder. */
export interface PreparedRunFolder {
  /** `new`: empty or absent; `resume`: holds a checkpoint to continue; `overwritten`: an old run was removed. */
  readonly state: 'new' | 'resume' | 'overwritten';
  /** Epochs in the checkpoint being resumed. */
  readonly checkpointEpoch?: number;
  /** Temporaries of killed writes that were removed (`*.tmp`, `.epoch-NNN.staging`). */
  readonly removedTemporaries: readonly string[];
}

const exists = async (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** Removes `path` if it is a file or a link (never following it); a real folder is left alone. */
async function removeFile(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isDirectory()) await rm(path, { force: true });
}

/**
 * Removes what a run wrote into `dir`: its top-level files, its checkpoint folders (`epoch-NNN`, real
 * folders only) and the final model's two files. Links are removed as links; nothing they point to, and
 * nothing a run does not write, is touched.
 */
async function removeRunFiles(dir: string): Promise<void> {
  for (const name of RUN_FILES) await removeFile(join(dir, name));
  for (const name of MODEL_FILES) await removeFile(join(dir, 'model', name));
  // One-shot's fine-tuning is a run of its own in finetune/.
  if ((await lstat(join(dir, 'finetune')).catch(() => undefined))?.isDirectory()) {
    await removeRunFiles(join(dir, 'finetune'));
  }
  const checkpoints = join(dir, CHECKPOINTS_FOLDER);
  const info = await lstat(checkpoints).catch(() => undefined);
  if (info?.isSymbolicLink()) return;
  if (!info?.isDirectory()) return;
  for (const name of await readdir(checkpoints)) {
    if (!/^epoch-\d{3,}$/.test(name)) continue;
    const path = join(checkpoints, name);
    if ((await lstat(path)).isDirectory()) await rm(path, { recursive: true, force: true });
  }
}

/**
 * Checks a run folder before training writes anything, and makes it: a path that is a file, or a folder
 * that cannot be written, is refused; a folder holding an earlier run is refused unless `resume` (it has a
 * checkpoint) or `overwrite` (the earlier run's files are removed first) says what to do with it, so an
 * earlier run is never truncated by accident. Temporaries of killed writes are removed.
 *
 * @throws RunFolderError with the flag to add, or the reason the folder cannot be used.
 */
export async function prepareRunFolder(
  dir: string,
  options: { readonly resume?: boolean; readonly overwrite?: boolean } = {},
): Promise<PreparedRunFolder> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new RunFolderError(
      `The run folder ${dir} is a file; give --out a folder (new or empty).`,
    );
  }
  try {
    await mkdir(dir, { recursive: true });
    // A real write, not access(): root passes access() on read-only folders, and a read-only mount fails.
    await writeFileAtomic(join(dir, '.write-test'), '');
    await rm(join(dir, '.write-test'), { force: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new RunFolderError(
      `Cannot write to the run folder ${dir} (${code}). Choose a writable --out folder.`,
      { cause: error },
    );
  }
  const removedTemporaries = [
    ...(await removeStaleTemporaries(dir)),
    ...(await removeStaleTemporaries(join(dir, 'model'))),
    ...(await removeStaleTemporaries(join(dir, CHECKPOINTS_FOLDER))),
  ];
  const hasRun = (await Promise.all(RUN_FILES.map((n) => exists(join(dir, n))))).some(Boolean);
  const epoch = await checkpointEpoch(dir);
  const hasPointer = await exists(join(dir, CHECKPOINT_POINTER));
  // Resume wins over overwrite: a checkpoint asked to be continued is never deleted.
  if (options.resume && hasPointer) {
    return {
      state: 'resume',
      ...(epoch !== undefined ? { checkpointEpoch: epoch } : {}),
      removedTemporaries,
    };
  }
  if (options.overwrite) {
    if (hasRun) await removeRunFiles(dir);
    return { state: hasRun ? 'overwritten' : 'new', removedTemporaries };
  }
  if (hasRun) {
    const what = hasPointer
      ? `a run with a checkpoint${epoch !== undefined ? ` after epoch ${epoch}` : ''}`
      : 'files of an earlier run';
    throw new RunFolderError(
      `${dir} already holds ${what}. Add ${hasPointer ? '--resume to continue it, ' : ''}--overwrite ` +
        'to replace it, or choose another --out.',
    );
  }
  return { state: 'new', removedTemporaries };
}
