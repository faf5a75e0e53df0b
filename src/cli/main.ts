/**
 * CLI entry: parses argv and dispatches to one command module per file. Returns the exit code;
 * never lets an exception reach the user as a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { UsageError } from './usage-error.ts';
import { printErr } from './terminal-text.ts';

/** Exit code for bad flags or arguments. */
export const EXIT_USAGE = 2;

/**
 * Commands whose exit code 2 means "the fleet would change" (`plan`, `diff`), and `audit`, whose
 * exit codes are 0 and 1 only: a usage error there exits 1, so a CI job never takes a mistyped flag
 * for a change (or for anything but a failed audit).
 */
const EXIT_2_MEANS_CHANGES: ReadonlySet<string> = new Set(['plan', 'diff', 'audit']);

/** Runs the CLI with `argv` (without node and script) and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('drover')
    .description('GitOps reconciler for immutable VM fleets')
    .version(packageVersion(), '-V, --version', "print drover's version")
    .exitOverride()
    .showHelpAfterError('(run drover --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  for (const command of commands) {
    command.register(program, (code) => {
      exitCode = code;
    });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    const usageExit = EXIT_2_MEANS_CHANGES.has(argv[0] ?? '') ? 1 : EXIT_USAGE;
    return reportFailure(error, usageExit);
  }
}

/** The version in drover's package.json (the one file that says it). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function reportFailure(error: unknown, usageExit: number): number {
  if (error instanceof CommanderError) {
    // Commander has already printed the message; help and version exit 0.
    return error.exitCode === 0 ? 0 : usageExit;
  }
  if (error instanceof UsageError) {
    printErr(`drover: ${error.message}\n`);
    return usageExit;
  }
  const message = error instanceof Error ? error.message : String(error);
  printErr(`drover: internal error: ${message}\n`);
  return 1;
}
