/** `drover status [--url URL] [--json]`: reads the daemon's API and prints a table of groups. */
import type { Command } from 'commander';
import { request } from 'undici';
import { conditionsText, noteText } from './group-notes.ts';
import { renderTable } from './table.ts';
import { UsageError } from './usage-error.ts';

interface StatusOptions {
  readonly url: string;
  readonly json?: boolean;
}

interface GroupRow {
  name: string;
  provider: string;
  replicas: number;
  strategy: string;
  desiredTemplateHash: string;
  suspendedBy?: string;
  conditions: { type: string; status: string; reason: string }[];
  counts?: { live: number; ready: number; updatedReady: number };
  waitingFor: string[];
  waits?: { reason: string; secondsLeft?: number }[];
  lastAppliedRevision?: string;
  lastError?: { reason: string };
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('status')
    .description("show the daemon's view of every group (reads its HTTP API)")
    .option('--url <url>', 'daemon address', process.env['DROVER_URL'] ?? 'http://127.0.0.1:8080')
    .option('--json', 'print the raw status document')
    .action(async (options: StatusOptions) => {
      const body = await fetchStatus(options.url);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return setExitCode(0);
      }
      process.stdout.write(
        render(
          body as {
            fleet?: string;
            source?: { lastAppliedRevision?: string; lastAttemptError?: { reason: string; message: string } };
            groups: GroupRow[];
          },
        ),
      );
      setExitCode(0);
    });
}

async function fetchStatus(url: string): Promise<unknown> {
  let response;
  try {
    response = await request(new URL('/api/v1/status', url), { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new UsageError(`cannot reach the daemon at ${url} (${reason}); is drover run listening there? (--url or DROVER_URL)`);
  }
  if (response.statusCode !== 200) throw new UsageError(`the daemon at ${url} answered HTTP ${response.statusCode}`);
  return response.body.json();
}

function render(status: {
  fleet?: string;
  source?: { lastAppliedRevision?: string; lastAttemptError?: { reason: string; message: string } };
  groups: GroupRow[];
}): string {
  const rows = status.groups.map((g) => {
    const counts = g.counts ? `${g.counts.updatedReady}/${g.replicas}` : `?/${g.replicas}`;
    return [g.name, g.provider, g.strategy, counts, g.desiredTemplateHash, conditionsText(g), noteText(g)];
  });
  const source = status.source;
  const head = `fleet ${status.fleet ?? '?'} at revision ${source?.lastAppliedRevision ?? '(none yet)'}`;
  const rejected = source?.lastAttemptError
    ? `\nnewest revision rejected (${source.lastAttemptError.reason}): ${source.lastAttemptError.message}`
    : '';
  return `${head}${rejected}\n\n${renderTable(['GROUP', 'PROVIDER', 'STRATEGY', 'UPDATED', 'TEMPLATE', 'CONDITIONS', 'NOTE'], rows)}\n`;
}
