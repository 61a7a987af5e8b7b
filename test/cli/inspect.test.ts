// `dynaprune inspect`: the yardsticks it prints are the ones README names, the tfjs model beside the file included.
import { Command } from 'commander';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInspectCommand } from '../../src/cli/commands/inspect.js';
import { DataNotFoundError } from '../../src/errors.js';
import { encodeModel } from '../../src/format/index.js';
import { sampleGraph } from '../format/graphs.js';

let folder = '';
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'dynaprune-inspect-'));
  await writeFile(join(folder, 'model.dpr'), encodeModel(sampleGraph(3)));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Runs `inspect` with `args` and returns what it printed, or throws what it threw. */
async function inspect(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerInspectCommand(program);
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(['node', 'dynaprune', 'inspect', ...args]);
  } finally {
    spy.mockRestore();
  }
  return printed.join('');
}

describe('inspect', () => {
  it('prints the size against dense float32, gzipped dense (tfmot) and the i.i.d. estimate', async () => {
    const text = await inspect(join(folder, 'model.dpr'));
    expect(text).toMatch(/bits\/nnz/);
    expect(text).toMatch(/^dense float32 weights: .*x\)$/m);
    expect(text).toMatch(/^gzipped dense \(tfmot\): .*x\)$/m);
    expect(text).toMatch(/^i\.i\.d\. mask \+ raw values: .*this estimate\)$/m);
    expect(text).not.toMatch(/bound/);
    // No model/ beside the file: no tfjs line.
    expect(text).not.toMatch(/dense tfjs model/);
  });

  it('compares with the tfjs model in model/ beside the file, or the one --tfjs-model names', async () => {
    const model = join(folder, 'model');
    await mkdir(model, { recursive: true });
    await writeFile(join(model, 'model.json'), '{}'.padEnd(1024));
    await writeFile(join(model, 'weights.bin'), new Uint8Array(1024 * 1023));
    const text = await inspect(join(folder, 'model.dpr'));
    expect(text).toMatch(/^dense tfjs model: +1024\.0 KiB .*the container\)$/m);
    const named = await inspect(join(folder, 'model.dpr'), '--tfjs-model', model);
    expect(named).toMatch(/dense tfjs model: +1024\.0 KiB/);
    const missing = inspect(join(folder, 'model.dpr'), '--tfjs-model', join(folder, 'nope'));
    await expect(missing).rejects.toThrow(DataNotFoundError);
    await expect(
      inspect(join(folder, 'model.dpr'), '--tfjs-model', join(folder, 'nope')),
    ).rejects.toThrow(/No tfjs model at .*nope: --tfjs-model needs/);
  });
});
