// `inspect` on a missing file or a folder, and `export --out` at a folder: typed one-line errors, no stack traces.
import { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerExportCommand } from '../../src/cli/commands/export.js';
import { registerInspectCommand } from '../../src/cli/commands/inspect.js';
import { DataNotFoundError, InvalidArgumentError } from '../../src/errors.js';

let folder = '';
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'dynaprune-cli-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

const run = async (...args: string[]): Promise<unknown> => {
  const program = new Command().exitOverride();
  registerInspectCommand(program);
  registerExportCommand(program);
  return program.parseAsync(['node', 'dynaprune', ...args]).then(
    () => undefined,
    (error: unknown) => error,
  );
};

describe('file errors of inspect and export', () => {
  it('inspect: a missing file and a folder', async () => {
    const missing = await run('inspect', join(folder, 'nope.dpr'));
    expect(missing).toBeInstanceOf(DataNotFoundError);
    expect((missing as Error).message).toMatch(/does not exist/);
    const dir = await run('inspect', folder);
    expect(dir).toBeInstanceOf(InvalidArgumentError);
    expect((dir as Error).message).toMatch(/is a folder/);
    expect((dir as Error).message.split('\n')).toHaveLength(1);
  });

  it('export --out at a folder is refused before any work', async () => {
    const error = await run('export', join(folder, 'no-run'), '--out', folder);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/--out .* is a folder; give a file path/);
  });
});
