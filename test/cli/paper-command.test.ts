// `dynaprune paper --help` lists every flag the command reads, with its default.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerPaperCommand } from '../../src/cli/commands/paper.js';

describe('dynaprune paper flags', () => {
  it('declares every option the action reads, with defaults for the required ones', () => {
    const program = new Command();
    registerPaperCommand(program);
    const paper = program.commands.find((c) => c.name() === 'paper')!;
    const options = Object.fromEntries(
      paper.options.map((o) => [o.attributeName(), o.defaultValue as unknown]),
    );
    for (const name of [
      'out',
      'quick',
      'dataDir',
      'backend',
      'seed',
      'epochs',
      'trainLimit',
      'testLimit',
      'width',
      'augment',
      'lrSchedule',
      'distribution',
      'seeds',
      'jobs',
      'validation',
      'testEachEpoch',
      'reuse',
      'only',
    ]) {
      expect(options, name).toHaveProperty(name);
    }
    expect(options['distribution']).toBe('uniform');
    expect(options['lrSchedule']).toBe('cosine');
    expect(options['backend']).toBe('auto');
    expect(options['augment']).toBe('crop-flip');
    expect(Number(options['jobs'])).toBeGreaterThanOrEqual(1);
  });
});
