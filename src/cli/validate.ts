/**
 * `drover validate [dir] [--json] [--max-instances N] [--max-providers N]`: load a fleet directory and report every
 * problem, the operator's instance cap included (default as the daemon's).
 * Exit 0 = valid, 1 = invalid, 2 = usage error (e.g. the directory does not exist).
 */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { capInstances, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_PROVIDERS } from '../desired/instance-cap.ts';
import { loadFleet } from '../desired/load.ts';
import type { LoadResult } from '../desired/load-result.ts';
import { formatProblem } from '../desired/problems.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { parseMaxInstances, parseMaxProviders } from './max-instances.ts';
import { renderTable } from './table.ts';
import { UsageError } from './usage-error.ts';
import { providerPlugin } from '../../providers/registry.ts';
import { printOut } from './terminal-text.ts';

interface ValidateOptions {
  readonly json?: boolean;
  readonly maxInstances?: string;
  readonly maxProviders?: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('validate')
    .description('check a fleet repository: schemas, references, provider rules (exit 0 valid, 1 invalid, 2 usage)')
    .argument('[dir]', 'fleet directory (default: the current directory)')
    .option('--json', 'print a machine-readable report')
    .option(
      '--max-instances <n>',
      `fleet-wide cap on total replicas, as the daemon's limits.maxInstances (default ${DEFAULT_MAX_INSTANCES})`,
    )
    .option(
      '--max-providers <n>',
      `fleet-wide cap on Provider documents, as the daemon's limits.maxProviders (default ${DEFAULT_MAX_PROVIDERS})`,
    )
    .action(async (given: string | undefined, options: ValidateOptions) => {
      const dir = given ?? '.';
      if (given === undefined)
        process.stderr.write(
          `drover validate: reading the current directory (${process.cwd()}); pass the fleet's directory to read another\n`,
        );
      const cap = parseMaxInstances(options.maxInstances);
      const providerCap = parseMaxProviders(options.maxProviders);
      await requireDirectory(dir);
      const result = capInstances(await loadFleet(dir), cap, providerCap);
      if (options.json) process.stdout.write(`${JSON.stringify(jsonReport(dir, result), null, 2)}\n`);
      else printOut(humanReport(dir, result));
      setExitCode(result.ok ? 0 : 1);
    });
}

/** Throws a UsageError unless `dir` is an existing directory. */
export async function requireDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined)
    throw new UsageError(`fleet directory '${dir}' does not exist; pass the directory that holds the fleet's YAML files`);
  if (!info.isDirectory()) throw new UsageError(`'${dir}' is not a directory; pass the directory that holds the fleet's YAML files`);
}

function humanReport(dir: string, result: LoadResult): string {
  const counts = `${result.files} files, ${result.documents} documents`;
  if (!result.ok) {
    const lines = result.problems.map(formatProblem);
    const n = result.problems.length;
    return `${lines.join('\n')}\n\n${dir}: invalid: ${n} problem${n === 1 ? '' : 's'} (${counts}); nothing was changed\n`;
  }
  const s = result.state;
  const summary = `${dir}: valid: fleet ${s.fleet.id}, ${count(s.providers, 'provider')}, ${count(s.images, 'image')}, ${count(s.groups, 'group')} (${counts})`;
  return [summary, '', groupsTable(s), '', providersTable(s), '', imagesTable(s), ''].join('\n');
}

function count(record: object, noun: string): string {
  const n = Object.keys(record).length;
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function groupsTable(s: DesiredState): string {
  const rows = Object.values(s.groups).map((g) => [
    g.name,
    g.provider,
    g.image,
    String(g.replicas),
    g.rollout.strategy,
    g.templateHash,
    g.suspend ? 'suspended' : '',
  ]);
  return renderTable(['GROUP', 'PROVIDER', 'IMAGE', 'REPLICAS', 'STRATEGY', 'TEMPLATE', ''], rows);
}

function providersTable(s: DesiredState): string {
  const rows = Object.values(s.providers).map((p) => [p.name, p.type, providerPlugin(p.type).scope(p.spec)]);
  return renderTable(['PROVIDER', 'TYPE', 'SCOPE'], rows);
}

function imagesTable(s: DesiredState): string {
  const rows = Object.values(s.images).map((i) => [i.name, `${i.digest.slice(0, 19)}…`, Object.keys(i.artifacts).join(', ')]);
  return renderTable(['IMAGE', 'DIGEST', 'ARTIFACTS'], rows);
}

function jsonReport(dir: string, result: LoadResult): object {
  const base = { dir, valid: result.ok, files: result.files, documents: result.documents };
  if (!result.ok) return { ...base, problems: result.problems.map((p) => ({ ...p, text: formatProblem(p) })) };
  const s = result.state;
  return {
    ...base,
    problems: [],
    fleet: s.fleet.id,
    providers: Object.values(s.providers).map((p) => ({ name: p.name, type: p.type })),
    images: Object.values(s.images).map((i) => ({ name: i.name, digest: i.digest, artifacts: Object.keys(i.artifacts) })),
    groups: Object.values(s.groups).map((g) => ({
      name: g.name,
      provider: g.provider,
      image: g.image,
      replicas: g.replicas,
      strategy: g.rollout.strategy,
      templateHash: g.templateHash,
      suspend: g.suspend,
      source: g.source,
    })),
  };
}
