// Finds and removes temporary files and folders that a killed process left behind (never those of a live one).
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** True when a process with this id exists (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/**
 * What a name is, if it is one of dynaprune's temporaries: `.<name>.<pid>.<n>.tmp` (an atomic write),
 * `.<key>.<pid>.<n>.partial` (an extraction), or `.epoch-NNN.staging` (a checkpoint being written, which
 * has no pid: a run folder has one writer).
 */
function temporaryOwner(name: string): { pid?: number } | undefined {
  const withPid = /^\..+\.(\d+)\.\d+\.(tmp|partial)$/.exec(name);
  if (withPid) return { pid: Number(withPid[1]) };
  if (/^\.epoch-\d{3,}\.staging$/.test(name)) return {};
  return undefined;
}

/**
 * Removes, directly inside `folder` (no recursion, links never followed), the temporaries of processes
 * that no longer run. Returns the paths removed. A folder that does not exist holds nothing.
 */
export async function removeStaleTemporaries(
  folder: string,
  options: { readonly includeOwnStaging?: boolean } = {},
): Promise<string[]> {
  let names: string[];
  try {
    if (!(await lstat(folder)).isDirectory()) return [];
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = temporaryOwner(name);
    if (owner === undefined) continue;
    if (owner.pid === undefined ? options.includeOwnStaging === false : processAlive(owner.pid)) {
      continue;
    }
    const path = join(folder, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    await rm(path, { recursive: info.isDirectory(), force: true });
    removed.push(path);
  }
  return removed;
}
