/**
 * What every simulator's standalone command line (`node providers/<cloud>/sim.ts …`) shares: the
 * common flags (checked, so a typo is named rather than becoming NaN), `ID,KEY=VALUE…` arguments,
 * and serving until SIGINT/SIGTERM.
 */

/** Flags every simulator takes. */
export interface CommonSimFlags {
  readonly port: number;
  readonly host: string;
  readonly factor: number;
}

/** A flag with a value the simulator cannot use; the message names the flag. */
export class SimFlagError extends Error {
  override readonly name = 'SimFlagError';
}

/** The common flags' parseArgs options: spread them into each simulator's own. */
export const SIM_FLAGS = {
  port: { type: 'string', default: '0' },
  host: { type: 'string', default: '127.0.0.1' },
  factor: { type: 'string', default: '1' },
} as const;

/** Checks the parsed common flags. */
export function commonSimFlags(values: { readonly port: string; readonly host: string; readonly factor: string }): CommonSimFlags {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SimFlagError(`--port must be a port number (0 = any free port), got '${values.port}'`);
  const factor = Number(values.factor);
  if (!Number.isFinite(factor) || factor <= 0) throw new SimFlagError(`--factor must be a positive number, got '${values.factor}'`);
  return { port, host: values.host, factor };
}

/** Splits `HEAD[,KEY=VALUE…]` (pairs without '=' are ignored). */
export function splitKeyValues(arg: string): { head: string; pairs: Record<string, string> } {
  const [head = '', ...rest] = arg.split(',');
  const pairs: Record<string, string> = {};
  for (const pair of rest) {
    const eq = pair.indexOf('=');
    if (eq > 0) pairs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { head, pairs };
}

/** Prints `banner` and keeps `sim` serving until SIGINT or SIGTERM, then closes it and exits 0. */
export function serveUntilSignal(sim: { close(): Promise<void> }, banner: string): void {
  console.log(banner);
  const stop = (): void => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Runs a simulator's `main`, turning a bad flag into a one-line message and exit code 2. */
export async function runSimMain(main: (argv: string[]) => Promise<void>): Promise<void> {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof SimFlagError) && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw error;
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
