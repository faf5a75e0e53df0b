/**
 * CLI entry: parses argv and dispatches to one command module per file. Returns the exit code;
 * never lets an exception reach the user as a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { UsageError } from './usage-error.ts';

/** Exit code for bad flags or arguments. */
export const EXIT_USAGE = 2;

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
    return reportFailure(error);
  }
}

/** The version in drover's package.json (the one file that says it). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed the message; help and version exit 0.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`drover: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`drover: internal error: ${message}\n`);
  return 1;
}
