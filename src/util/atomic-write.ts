// Atomic file writes for Node: write a temporary sibling, flush it, then rename over the target.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A unique temporary name beside `target`, so the final rename never crosses file systems. */
export function temporarySibling(target: string): string {
  counter++;
  return join(dirname(target), `.${basename(target)}.${process.pid}.${counter}.tmp`);
}

/**
 * Writes `data` to `target` so that readers see either the old file or the whole new one, never a part.
 * Creates the parent folder if needed.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(tmp, target);
}
