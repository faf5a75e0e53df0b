/**
 * `drover sim [dir]`: starts a wire-level simulator for each provider of the fleet on 127.0.0.1,
 * seeded with the fleet's images, writes the operator's config that binds each provider to its
 * simulator (endpoint, CA file, Proxmox token id: what the fleet repository no longer holds), and
 * prints it with the environment each cloud's SDK needs. Runs until interrupted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { startFleetSimulators } from './fleet-simulators.ts';
import type { ProviderSimulator } from './fleet-simulators.ts';
import { asListenError } from './listen.ts';
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
      if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65535)
        throw new UsageError(`--port must be a port number, got '${options.port}'`);
      const state = await loadOrReport(dir);
      if (state === undefined) return setExitCode(1);
      const sims = await startFleetSimulators(state, { factor, basePort }).catch((error: unknown) => {
        const listen = asListenError(error);
        if (listen === undefined) throw error;
        process.stderr.write(
          `drover sim: ${listen.message}; pass --port N to start from another port (providers use consecutive ports; 0 = any free ports)\n`,
        );
        return undefined;
      });
      if (sims === undefined) return setExitCode(1);
      const { started, unsupported } = sims;
      const caDir = await mkdtemp(path.join(os.tmpdir(), 'drover-sim-'));
      const caFiles = await writeCaFiles(caDir, started);
      const configFile = path.join(caDir, 'drover.yaml');
      await writeFile(configFile, bindingsConfig(started, caFiles), { mode: 0o600 });
      process.stdout.write(
        banner(
          started,
          unsupported.map((p) => `${p.name} (${p.type})`),
          factor,
          configFile,
          caFiles,
          dir,
        ),
      );
      // The handlers stay until the process exits (signal handlers do not keep it alive): a
      // forwarded second Ctrl-C can arrive after the simulators closed, and must not kill it with 130.
      await untilInterrupted();
      process.stdout.write('\nstopping the simulators…\n');
      await Promise.all(started.map((s) => s.close()));
      await rm(caDir, { recursive: true, force: true });
      setExitCode(0);
    });
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

/** Writes each https simulator's CA to `<dir>/<provider>-ca.pem`, for DROVER_CA_FILE_<NAME> in another shell. */
async function writeCaFiles(dir: string, started: readonly ProviderSimulator[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const s of started) {
    if (s.caPem === undefined) continue;
    const file = path.join(dir, `${s.provider}-ca.pem`);
    await writeFile(file, s.caPem);
    files.set(s.provider, file);
  }
  return files;
}

/**
 * The operator's config binding every simulated provider (`providers.<name>`: type, endpoint, CA
 * file, credentials), for `plan --config` / `apply --config` / `run --config`.
 */
export function bindingsConfig(started: readonly ProviderSimulator[], caFiles: ReadonlyMap<string, string>): string {
  const bindings = Object.fromEntries(
    started.map((s) => [
      s.provider,
      {
        type: s.type,
        endpoint: s.url,
        ...(caFiles.has(s.provider) ? { caFile: caFiles.get(s.provider) } : {}),
        ...(s.credentials === undefined ? {} : { credentials: s.credentials }),
      },
    ]),
  );
  return `# Written by drover sim: binds each provider of the fleet to its simulator.\n${stringify({ providers: bindings })}`;
}

/** What `drover sim` prints: endpoints, then the config and shell lines to use them on the fleet `dir` given. */
export function banner(
  started: readonly ProviderSimulator[],
  unsupported: readonly string[],
  factor: number,
  configFile: string,
  caFiles: ReadonlyMap<string, string>,
  dir: string,
): string {
  const lines = [`drover sim: ${started.length} simulator(s) on 127.0.0.1, time ×${factor}`];
  for (const s of started) {
    const ca = caFiles.get(s.provider);
    lines.push(
      `  ${s.provider.padEnd(14)} ${s.type.padEnd(8)} ${s.url}   world: curl ${ca === undefined ? '' : `--cacert ${ca} `}${s.url}/_sim/world`,
    );
  }
  for (const name of unsupported) lines.push(`  ${name.padEnd(23)} no simulator yet: its groups will be reported as not planned`);
  const env = new Map<string, string>();
  for (const s of started) for (const [k, v] of Object.entries(s.env)) env.set(k, v);
  lines.push(
    '',
    `Bindings (endpoints, CA files, Proxmox token id) are in ${configFile}.`,
    'Point drover at them (in another shell):',
    `  export ${[...env].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `  npx drover plan ${shellWord(dir)} --no-probes --config ${shellWord(configFile)}`,
    '',
    'Stop with Ctrl-C.',
  );
  return `${lines.join('\n')}\n`;
}

/** `word` as one shell word: as is when it needs no quoting, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w./@:+=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * Resolves on the first SIGINT/SIGTERM and absorbs every later one for the rest of the process's
 * life: under `npm run`/`npx` a Ctrl-C arrives twice (from the terminal and forwarded by npm), and
 * the second, however late, must not kill the process with 130.
 */
function untilInterrupted(): Promise<void> {
  const { promise: signalled, resolve } = Promise.withResolvers<void>();
  const onSignal = () => resolve();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return signalled;
}
