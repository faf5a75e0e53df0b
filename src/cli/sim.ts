/**
 * `drover sim [dir]`: starts a wire-level simulator for each provider of the fleet on 127.0.0.1,
 * seeded with the fleet's images, and prints the endpoints and the environment that points drover
 * (and each cloud's SDK) at them. Runs until interrupted.
 */
import type { Command } from 'commander';
import { endpointEnvName } from '../reconcile/open-providers.ts';
import { startFleetSimulators } from '../sim/fleet-simulators.ts';
import type { ProviderSimulator } from '../sim/fleet-simulators.ts';
import { loadOrReport } from './session.ts';
import { UsageError } from './usage-error.ts';

interface SimOptions {
  readonly factor: string;
  readonly port: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('sim')
    .description("start simulators of the fleet's clouds on 127.0.0.1 and print how to point drover at them")
    .argument('[dir]', 'fleet directory whose providers and images to simulate', 'fixtures/demo')
    .option('--factor <n>', 'simulated time runs this many times faster (boot latency etc.)', '10')
    .option('--port <n>', 'first port (providers get consecutive ports); 0 = any free port', '4566')
    .action(async (dir: string, options: SimOptions) => {
      const factor = positive(options.factor, '--factor');
      const basePort = Number(options.port);
      if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65535) throw new UsageError(`--port must be a port number, got '${options.port}'`);
      const state = await loadOrReport(dir);
      if (state === undefined) return setExitCode(1);
      const { started, unsupported } = await startFleetSimulators(state, { factor, basePort });
      process.stdout.write(banner(started, unsupported.map((p) => `${p.name} (${p.type})`), factor));
      await untilInterrupted();
      await Promise.all(started.map((s) => s.close()));
      setExitCode(0);
    });
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

/** What `drover sim` prints: endpoints, then the shell lines to use them. */
export function banner(started: readonly ProviderSimulator[], unsupported: readonly string[], factor: number): string {
  const lines = [`drover sim: ${started.length} simulator(s) on 127.0.0.1, time ×${factor}`];
  for (const s of started) lines.push(`  ${s.provider.padEnd(14)} ${s.type.padEnd(8)} ${s.url}   world: ${s.url}/_sim/world`);
  for (const name of unsupported) lines.push(`  ${name.padEnd(23)} no simulator yet: its groups will be reported as not planned`);
  const env = new Map<string, string>();
  for (const s of started) {
    env.set(endpointEnvName(s.provider), s.url);
    for (const [k, v] of Object.entries(s.env)) env.set(k, v);
  }
  lines.push('', 'Point drover at them (in another shell):', `  export ${[...env].map(([k, v]) => `${k}=${v}`).join(' ')}`, '  node bin/drover plan fixtures/demo --no-probes', '', 'Stop with Ctrl-C.');
  return `${lines.join('\n')}\n`;
}

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
