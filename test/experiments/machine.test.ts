// describeSoftware: dynaprune's version, and the commit of its own git checkout when it runs from one.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeSoftware } from '../../src/experiments/machine.js';
import { DYNAPRUNE_VERSION } from '../../src/version.js';

describe('describeSoftware', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  it('names the checkout commit, and says when tracked files were changed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dynaprune-software-'));
    folders.push(root);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    git('init', '-q');
    await writeFile(join(root, 'a.txt'), 'one\n');
    git('add', 'a.txt');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'first');
    const head = git('rev-parse', 'HEAD');
    expect(describeSoftware(root)).toEqual({
      dynaprune: DYNAPRUNE_VERSION,
      commit: head,
      modified: false,
    });
    // An untracked file is not a change to what the commit names; an edited tracked file is.
    await writeFile(join(root, 'notes.txt'), 'scratch\n');
    expect(describeSoftware(root).modified).toBe(false);
    await writeFile(join(root, 'a.txt'), 'two\n');
    expect(describeSoftware(root)).toEqual({
      dynaprune: DYNAPRUNE_VERSION,
      commit: head,
      modified: true,
    });
  });

  it('gives the version alone outside a checkout of its own', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dynaprune-installed-'));
    folders.push(root);
    expect(describeSoftware(root)).toEqual({ dynaprune: DYNAPRUNE_VERSION });
  });
});
