// The terminal side of the CLI: the command as the user typed it, and what Ctrl-C prints before exiting.

/** Quotes one argument for a POSIX shell, only when it needs it. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line as the user typed it: `dynaprune` and the arguments, not the node binary and the
 * script's path (which under npx is a cache folder).
 */
export function typedCommand(args: readonly string[]): string {
  return ['dynaprune', ...args].map(shellQuote).join(' ');
}

/**
 * On the first Ctrl-C (SIGINT), runs `note` (which says where the work can be resumed) and exits with
 * 130, the shell's code for an interrupt; a second Ctrl-C exits at once.
 */
export function onInterrupt(note: () => Promise<void>): void {
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    note()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  });
}
