#!/usr/bin/env node
// The `dynaprune` command: parses the subcommand and its flags, then calls the library.
import { Command } from 'commander';
import { DynapruneError } from '../errors.js';
import { registerTrainCommand } from './commands/train.js';

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('dynaprune')
    .description(
      'Dynamic pruning and sparse training of CNNs in TypeScript: train (DSR and friends), store as CSR, run sparse.',
    )
    .showHelpAfterError('(run with --help for usage)');
  registerTrainCommand(program);
  await program.parseAsync(argv as string[]);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof DynapruneError) {
    process.stderr.write(`\ndynaprune: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(
    `\ndynaprune: unexpected failure\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
