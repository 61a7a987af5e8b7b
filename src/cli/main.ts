#!/usr/bin/env node
// The `dynaprune` command: parses the subcommand and its flags, then calls the library.
import { env } from '@tensorflow/tfjs';
import { Command } from 'commander';
import { DynapruneError } from '../errors.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerPaperCommand } from './commands/paper.js';
import { registerReportCommand } from './commands/report.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('dynaprune')
    .description(
      'Dynamic pruning and sparse training of CNNs in TypeScript: train (DSR and friends), store as CSR, run sparse.',
    )
    .showHelpAfterError('(run with --help for usage)');
  registerPaperCommand(program);
  registerTrainCommand(program);
  registerExportCommand(program);
  registerInspectCommand(program);
  registerEvalCommand(program);
  registerReportCommand(program);
  registerServeCommand(program);
  await program.parseAsync(argv as string[]);
}

// The CLI owns the terminal: mute tfjs's console banner (it suggests tfjs-node; the backend line says what runs).
env().set('PROD', true);

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
