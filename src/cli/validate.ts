/** `drover validate [dir] [--json]`: load a fleet directory and report every problem. */
import type { Command } from 'commander';

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('validate')
    .argument('[dir]', 'fleet directory', '.')
    .option('--json', 'machine-readable report')
    .description('check a fleet repository: schemas, references, provider rules')
    .action(async () => {
      setExitCode(1);
    });
}
