// Where data is looked for: the environment variables, the cache folder, and a small stat helper.
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The environment variable naming a local copy of the data (same role as `--data-dir`). */
export const DATA_ENV = 'DYNAPRUNE_DATA';
/** The environment variable naming the cache folder. */
export const CACHE_ENV = 'DYNAPRUNE_CACHE';

/** The cache folder: $DYNAPRUNE_CACHE when set and non-empty, else ~/.cache/dynaprune. */
export function defaultCacheDir(): string {
  const fromEnv = process.env[CACHE_ENV];
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.cache', 'dynaprune');
}

/** $DYNAPRUNE_DATA when set and non-empty. */
export function dataDirFromEnv(): string | undefined {
  const fromEnv = process.env[DATA_ENV];
  return fromEnv ? fromEnv : undefined;
}

/** What is at `path`: a file, a directory, or nothing (other kinds count as nothing). */
export async function pathKind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    if (s.isFile()) return 'file';
    if (s.isDirectory()) return 'dir';
    return undefined;
  } catch {
    return undefined;
  }
}
