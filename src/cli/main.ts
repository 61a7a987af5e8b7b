#!/usr/bin/env node
// The `dynaprune` command: parses the subcommand and its flags, then calls the library.
import { env } from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
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
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)');
  registerPaperCommand(program);
  registerTrainCommand(program);
  registerExportCommand(program);
  registerInspectCommand(program);
  registerEvalCommand(program);
  registerReportCommand(program);
  registerServeCommand(program);
  if (argv.length <= 2) {
    // No subcommand: say what there is, successfully (commander would exit 1).
    program.outputHelp();
    return;
  }
  await program.parseAsync(argv as string[]);
}

/** The version in the package's package.json (two folders up, from src/cli or dist/cli). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
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
